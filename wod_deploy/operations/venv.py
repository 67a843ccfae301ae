"""A Python venv with pinned packages, read in one listing (facts/jupyterhub.VenvPackages): a
compliant converge starts no pip; otherwise the venv's pip installs the pins it lacks.

A fresh backend's first converge was half dpkg, half pip, one after the other. The venv needs
python3-venv only, so it is made in the background of the other packages' install
(`made_meanwhile`, passed to operations/apt.apt_packages). Every pip and venv command holds the
venv's lock: the venv operation that follows waits for whatever that background job (or one a
dropped connection left running) still does, then installs only what is still missing."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation

from facts.jupyterhub import VenvPackages, canonical

from .. import reads
from ..shell import sh


def lock(path: str) -> str:
    return "/run/lock/wod-venv" + path.replace("/", "-") + ".lock"


def _create(path: str) -> str:
    # checked under the lock: the background job may have made it since the venv was read
    return sh("flock %s sh -c %s %s", lock(path), '[ -e "$0/bin/activate" ] || python3 -m venv "$0"', path)


def _install(path: str, pins: list[str]) -> str:
    return sh("flock %s %s/bin/pip install -q --disable-pip-version-check %s", lock(path), path, pins)


def made_meanwhile(path: str, pins: list[str]) -> str:
    """The venv made from nothing, quietly (the venv operation reports what fails): a command for
    the background, doing nothing where `path` exists (an upstream venv is adopted first)."""
    return sh("[ -e %s ]", path) + f" || {{ {_create(path)} && {_install(path, pins)}; }} >/dev/null 2>&1"


@operation()
def venv(path: str, pins: list[str], unwanted: tuple[str, ...] = ()):
    """A venv at `path` (python3) holding every `name==version` of `pins`, and none of the
    `unwanted` packages (removed after any install, which may have brought them back)."""
    installed = reads.fact(VenvPackages, venv=path)
    missing = [f"{name}=={version}" for name, version in (pin.split("==", 1) for pin in pins)
               if installed.get(canonical(name)) != version]
    present = [name for name in unwanted if canonical(name) in installed]
    if not (missing or present):
        host.noop(f"{path}: {' '.join(pins)} installed")
        return
    if not installed:  # no venv (its pip is a package)
        yield _create(path)
    if missing:
        yield _install(path, missing)
    if unwanted and (missing or present):
        yield sh("flock %s %s/bin/pip uninstall -q -y %s", lock(path), path, list(unwanted))
