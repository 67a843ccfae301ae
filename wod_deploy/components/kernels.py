"""Kernels registered in the JupyterHub venv: python3, bash, ssh."""

from pyinfra.api import deploy as pyinfra_deploy

from facts.kernels import KernelSpecs

from .. import reads
from ..checks import expect
from ..operations.kernels import kernelspecs
from ..settings import Settings

# kernel name -> the `python -m` argv that registers it in the venv (its sys.prefix)
KERNELS = {
    "python3": ["ipykernel", "install", "--sys-prefix", "--name", "python3"],
    "bash": ["bash_kernel.install", "--sys-prefix"],
    "ssh": ["sshkernel", "install", "--sys-prefix"],
}


@pyinfra_deploy("Kernels")
def deploy(settings: Settings):
    reads.together(reads.read(KernelSpecs, venv=settings.JPHUB))
    kernelspecs(name=f"Kernels {', '.join(KERNELS)}", venv=settings.JPHUB, kernels=KERNELS)


def checks(settings: Settings, probe):
    registered = probe(KernelSpecs, venv=settings.JPHUB)
    for kernel in KERNELS:
        yield expect("kernels.kernelspec", f"kernel {kernel}", "registered",
                     "registered" if kernel in registered else None)
