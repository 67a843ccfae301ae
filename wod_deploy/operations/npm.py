"""Global npm packages (facts/npm.py)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation

from facts.npm import NpmGlobalVersion

from ..shell import sh


@operation()
def npm_global(package: str, version: str):
    """A global npm package at exactly `version`."""
    if host.get_fact(NpmGlobalVersion, package=package) == version:
        host.noop(f"{package}@{version} is installed")
        return
    yield sh("npm install -g --no-fund --no-audit %s", f"{package}@{version}")
