"""npm itself and global npm packages (facts/npm.py)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation

from facts.npm import NpmGlobalVersion, PackageVersion

from .. import reads
from ..shell import sh

REGISTRY = "https://registry.npmjs.org"


@operation()
def npm_cli(version: str, sha512: str, dest: str):
    """npm `version` in `dest`, from the registry's own tarball, checked against its sha512 (the
    registry's `dist.integrity`, in hex) before it is unpacked; replaced in one rename."""
    if reads.fact(PackageVersion, path=f"{dest}/package.json") == version:
        host.noop(f"npm {version} is in {dest}")
        return
    yield sh("set -e; tmp=$(mktemp -d); trap 'rm -rf \"$tmp\"' EXIT; "
             "curl -fsSL --retry 3 -o \"$tmp/npm.tgz\" %s; "
             "echo %s\"  $tmp/npm.tgz\" | sha512sum --check --quiet; "
             "mkdir \"$tmp/npm\"; tar -xzf \"$tmp/npm.tgz\" -C \"$tmp/npm\" --strip-components=1 --no-same-owner; "
             "rm -rf %s.new; mv \"$tmp/npm\" %s.new; rm -rf %s; mv %s.new %s",
             f"{REGISTRY}/npm/-/npm-{version}.tgz", sha512, dest, dest, dest, dest, dest)


@operation()
def npm_global(package: str, version: str, npm: str = "npm"):
    """A global npm package at exactly `version`; `npm` is the command that installs it."""
    if reads.fact(NpmGlobalVersion, package=package) == version:
        host.noop(f"{package}@{version} is installed")
        return
    yield f"{npm} install -g --no-fund --no-audit {sh('%s', f'{package}@{version}')}"
