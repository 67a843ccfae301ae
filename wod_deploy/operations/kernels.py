"""Jupyter kernelspecs in a venv (facts/kernels.py)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation

from facts.kernels import KernelSpecs

from .. import reads
from ..shell import quote


@operation()
def kernelspecs(venv: str, kernels: dict[str, list[str]]):
    """Register each Jupyter kernel of `kernels` ({name: the `python -m` argv that registers it
    into the venv's sys.prefix}) that the venv lacks; one read for all of them."""
    registered = reads.fact(KernelSpecs, venv=venv)
    missing = [name for name in kernels if name not in registered]
    if not missing:
        host.noop(f"kernels {' '.join(kernels)} are registered in {venv}")
        return
    for name in missing:
        yield f"{quote(f'{venv}/bin/python')} -m {quote(kernels[name])}"
