"""Globally installed npm packages, read from their package.json (npm's tree output is locale-dependent)."""

from __future__ import annotations

import json

from pyinfra.api import FactBase

from wod_deploy.shell import sh


class NpmGlobalVersion(FactBase):
    """The version of a global npm package, or None when it is not installed."""

    def command(self, package: str) -> str:
        return sh("command -v npm >/dev/null && cat \"$(npm root -g)\"/%s 2>/dev/null || true",
                  f"{package}/package.json")

    def process(self, output: list[str]) -> str | None:
        return json.loads("\n".join(output)).get("version")
