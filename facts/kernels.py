"""Jupyter kernelspecs registered in a venv."""

from __future__ import annotations

from pyinfra.api import FactBase

from wod_deploy.shell import sh


class KernelSpecs(FactBase):
    """
    Kernels registered in a venv's own prefix (``install --sys-prefix``, where Jupyter looks
    first): ``{name: resource_dir}`` for each ``<venv>/share/jupyter/kernels/<name>/kernel.json``.
    Empty when the venv does not exist yet.
    """

    default = dict

    def command(self, venv: str) -> str:
        return sh("for k in %s/share/jupyter/kernels/*/kernel.json; "
                  "do [ -f \"$k\" ] && printf '%%s\\n' \"${k%%/*}\"; done; true", venv)  # its directory

    def process(self, output: list[str]) -> dict:
        return {path.rsplit("/", 1)[1]: path for path in output if path}
