"""Jupyter kernelspecs in a venv (facts/kernels.py)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation

from facts.kernels import KernelSpecs

from ..shell import quote


@operation()
def kernelspec(venv: str, kernel: str, install: list[str]):
    """Register a Jupyter kernel in a venv when `jupyter kernelspec list` lacks it; `install` is
    the `python -m` argv that registers it (into the venv's sys.prefix)."""
    if kernel in host.get_fact(KernelSpecs, venv=venv):
        host.noop(f"kernel {kernel} is registered in {venv}")
        return
    yield f"{quote(f'{venv}/bin/python')} -m {quote(install)}"
