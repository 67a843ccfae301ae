"""Jupyter kernelspecs registered in a venv."""

from __future__ import annotations

import json

from pyinfra.api import FactBase

from wod_deploy.shell import sh


class KernelSpecs(FactBase):
    """
    Kernels that ``<venv>/bin/jupyter kernelspec list --json`` shows: ``{name: resource_dir}``.
    Empty when the venv (or jupyter in it) does not exist yet.
    """

    default = dict

    def command(self, venv: str) -> str:
        jupyter = f"{venv}/bin/jupyter"
        return sh("test -x %s && PYTHONDONTWRITEBYTECODE=1 %s kernelspec list --json || true", jupyter, jupyter)

    def process(self, output: list[str]) -> dict:
        data = json.loads("\n".join(output))
        return {name: spec["resource_dir"] for name, spec in data.get("kernelspecs", {}).items()}
