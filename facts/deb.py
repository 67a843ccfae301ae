"""Debian packages: which of a list dpkg has installed."""

from __future__ import annotations

from pyinfra.api import FactBase

from wod_deploy.shell import sh


class InstalledPackages(FactBase):
    """``{package: version}`` for each of `packages` that dpkg has installed, held ones too (status
    ``ii`` or ``hi`` with no error flag, as pyinfra's DebPackages counts them); a package dpkg does
    not know, knows as removed, or must reinstall, is absent.

    One `dpkg-query` of these names alone: pyinfra's DebPackages runs `dpkg -l`, about 35 KB of
    every package on a backend, which the controller reads and parses line by line for each host.
    """

    default = dict

    def requires_command(self, packages: list[str]) -> str:
        return "dpkg-query"

    def command(self, packages: list[str]) -> str:
        return sh("dpkg-query -W -f '${db:Status-Abbrev}${Package} ${Version}\\n' -- %s 2>/dev/null; true", packages)

    def process(self, output: list[str]) -> dict:
        found = {}
        for line in output:  # `ii python3 3.11.2-1+b1`: three status letters, the name, the version
            name, _, version = line[3:].partition(" ")
            if line[:3] in ("ii ", "hi ") and name:
                found[name] = version.strip()
        return found
