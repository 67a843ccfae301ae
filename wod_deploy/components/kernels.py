"""Jupyter kernels registered in the JupyterHub venv, as KERNELS names them (recipes:
wod_deploy/recipes.py), and the kernels the shipped catalogue's notebooks need.

Each kernel's own installer runs once (it lays down the logos); its kernel.json is ours, written
by content like any managed file, so `check` compares argv, env and names and a converge repairs
them. A workshop whose notebooks name a kernel KERNELS lacks is named at deploy and by `check`,
and its CREATE is refused (the INDEX carries what each workshop needs).
"""

from __future__ import annotations

import json

from pyinfra import logger
from pyinfra.api import deploy as pyinfra_deploy

from facts.kernels import KernelSpecs

from .. import managed, reads
from ..checks import expect
from ..managed import File
from ..operations.kernels import kernelspecs
from ..recipes import RECIPES
from ..runtime.catalogue import kernels_refused
from ..settings import Settings
from . import workshops

_warned: set[str] = set()  # one warning per run, not one per backend


def spec_path(s: Settings, name: str) -> str:
    return f"{s.JPHUB}/share/jupyter/kernels/{name}/kernel.json"  # --sys-prefix: where Jupyter looks first


def specs(s: Settings) -> list[File]:
    return [File(spec_path(s, name), json.dumps(RECIPES[name].spec(s.JPHUB), indent=1, sort_keys=True) + "\n")
            for name in s.KERNELS]


def installers(s: Settings) -> dict[str, list[str]]:
    """{kernel: the `python -m` argv that registers it}, for the kernels KERNELS names."""
    return {name: list(RECIPES[name].install) for name in s.KERNELS}


def unserved(s: Settings) -> dict[str, list[str]]:
    """{workshop: the kernels its notebooks name that this backend does not register}."""
    found = {ws: sorted(set(needed) - set(s.KERNELS)) for ws, needed in workshops.kernels_needed(s).items()}
    return {ws: missing for ws, missing in found.items() if missing}


def warn_unserved(s: Settings) -> None:
    for ws, missing in sorted(unserved(s).items()):
        message = f"{kernels_refused(ws, missing)}: its CREATE will be rejected"
        if message not in _warned:
            _warned.add(message)
            logger.warning(message)


@pyinfra_deploy("Kernels")
def deploy(settings: Settings):
    s = settings
    warn_unserved(s)
    items = specs(s)
    reads.together(reads.read(KernelSpecs, venv=s.JPHUB), managed.state_read(items))
    kernelspecs(name=f"Kernels {', '.join(s.KERNELS)}", venv=s.JPHUB, kernels=installers(s))
    managed.deploy(items, "Kernels")  # after the installers: their kernel.json replaced by ours


def checks(settings: Settings, probe):
    s = settings
    registered = probe(KernelSpecs, venv=s.JPHUB)
    for kernel in s.KERNELS:
        yield expect("kernels.kernelspec", f"kernel {kernel}", "registered",
                     "registered" if kernel in registered else None)
    yield from managed.checks("kernels", specs(s), probe)
    gaps = unserved(s)
    for ws, missing in sorted(gaps.items()):
        yield expect("kernels.catalogue", f"workshop {ws}", "its notebooks' kernels registered",
                     f"{', '.join(missing)} not registered", "add the kernel to KERNELS (a recipe in "
                     "wod_deploy/recipes.py), or its CREATE is refused")
    if not gaps:
        yield expect("kernels.catalogue", "workshops", "every kernel their notebooks name registered",
                     "every kernel their notebooks name registered")
