"""Jupyter kernelspecs registered in a venv."""

from __future__ import annotations

import json

from pyinfra.api import FactBase


class KernelSpecs(FactBase):
    """
    Kernels that ``<venv>/bin/jupyter kernelspec list --json`` shows: ``{name: resource_dir}``.
    Empty when the venv (or jupyter in it) does not exist yet.
    """

    default = dict

    def command(self, venv: str) -> str:
        return (f"test -x {venv}/bin/jupyter && PYTHONDONTWRITEBYTECODE=1 {venv}/bin/jupyter kernelspec list --json "
                "|| true")

    def process(self, output: list[str]) -> dict:
        data = json.loads("\n".join(output))
        return {name: spec["resource_dir"] for name, spec in data.get("kernelspecs", {}).items()}
