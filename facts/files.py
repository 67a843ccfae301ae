"""Owner, mode and content digest of a set of files, in one command."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


class ManagedFiles(FactBase):
    """
    ``{path: {"user", "group", "mode", "sha1"}}`` for each path that exists; absent paths are
    missing from the dict. ``mode`` is an int (0o644).
    """

    default = dict

    def command(self, paths: list[str]) -> str:
        quoted = " ".join(shlex.quote(p) for p in paths)
        return (f"for p in {quoted}; do [ -f \"$p\" ] || continue; "
                f"printf '%s %s\\n' \"$(stat -c '%U %G %a' \"$p\")\" \"$(sha1sum < \"$p\" | cut -d' ' -f1)\" "
                f"| sed \"s|^|$p |\"; done")

    def process(self, output: list[str]) -> dict:
        files = {}
        for line in output:
            path, user, group, mode, sha1 = line.rsplit(" ", 4)
            files[path] = {"user": user, "group": group, "mode": int(mode, 8), "sha1": sha1}
        return files
