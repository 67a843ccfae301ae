"""A Python venv with pinned packages, read in one listing (facts/jupyterhub.VenvPackages) before
pyinfra's pip operations, whose facts start pip (half a second here, at each converge)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation
from pyinfra.operations import pip

from facts.jupyterhub import VenvPackages, canonical

from .. import reads


@operation()
def venv(path: str, pins: list[str]):
    """A venv at `path` (python3) holding every `name==version` of `pins`: nothing when its
    installed distributions show them all, else pyinfra's pip.venv then pip.packages."""
    installed = reads.fact(VenvPackages, venv=path)
    wanted = {canonical(name): version for name, version in (pin.split("==", 1) for pin in pins)}
    if installed and all(installed.get(name) == version for name, version in wanted.items()):
        host.noop(f"{path}: {' '.join(pins)} installed")
        return
    yield from pip.venv._inner(path=path, python="python3")
    yield from pip.packages._inner(packages=pins, virtualenv=path)
