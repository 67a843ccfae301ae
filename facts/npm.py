"""npm packages, read from their package.json (npm's tree output is locale-dependent)."""

from __future__ import annotations

import json

from pyinfra.api import FactBase

from wod_deploy.shell import sh


class NpmGlobalVersion(FactBase):
    """The version of a global npm package, or None when it is not installed."""

    def command(self, package: str) -> str:
        # Debian's npm installs globals under /usr/local: read there first, without starting npm
        manifest = f"{package}/package.json"
        return sh("cat /usr/local/lib/node_modules/%s 2>/dev/null || { command -v npm >/dev/null && "
                  "cat \"$(npm root -g)\"/%s 2>/dev/null; } || true", manifest, manifest)

    def process(self, output: list[str]) -> str | None:
        return json.loads("\n".join(output)).get("version")


class PackageVersion(FactBase):
    """The version a package.json declares (an npm unpacked in place), or None when it is absent."""

    def command(self, path: str) -> str:
        return sh("cat %s 2>/dev/null || true", path)

    def process(self, output: list[str]) -> str | None:
        return json.loads("\n".join(output)).get("version")
