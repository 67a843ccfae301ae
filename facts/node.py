"""A Node.js application built on the host (operations/node.py): the source digest it was built
from, stamped in the build."""

from __future__ import annotations

from pyinfra.api import FactBase

from wod_deploy.shell import sh


class BuiltFrom(FactBase):
    """The digest `app` was built from (``<app>/.wod-build``), or None."""

    def command(self, app: str) -> str:
        return sh("cat %s 2>/dev/null || true", f"{app}/.wod-build")

    def process(self, output: list[str]) -> str | None:
        return output[0].strip() or None


class PendingMigrations(FactBase):
    """The sequelize migrations of `app` not yet applied (``db:migrate:status`` lines that say
    down), or None when that cannot be told (no build yet, no database)."""

    def command(self, app: str, user: str) -> str:
        return sh("cd %s 2>/dev/null && [ -x node_modules/.bin/sequelize ] && runuser -u %s -- env NODE_ENV=production "
                  "node_modules/.bin/sequelize db:migrate:status 2>/dev/null | grep -E '^(up|down) ' || true",
                  app, user)

    def process(self, output: list[str]) -> list[str] | None:
        if not output:
            return None
        return [line.split(None, 1)[1] for line in output if line.startswith("down ")]


class ServedSite(FactBase):
    """The static site served through the link `served` (operations/node.static_site): the build
    it is (`release`), the served files that differ from the release's manifest (`damaged`:
    changed, missing or added), and the build `work` holds (`built`). None before the first."""

    def command(self, served: str, work: str) -> str:
        return sh('t="$(readlink %s)" && [ -d "$t" ] || exit 0; echo "release ${t##*/}"; '
                  'echo "built $(cat %s 2>/dev/null)"; cd "$t" && '
                  '{ sha256sum -c --quiet "$t.sha256" 2>/dev/null | sed "s/^/damaged /"; '
                  'find . -type f | sort | comm -23 - "$t.files" 2>/dev/null | sed "s/^/damaged added /"; } || true',
                  served, f"{work}/.wod-built")

    def process(self, output: list[str]) -> dict | None:
        if not output:
            return None
        state = {"release": None, "built": None, "damaged": []}
        for line in output:
            word, _, rest = line.partition(" ")
            if word == "damaged":
                state["damaged"].append(rest.strip())
            else:
                state[word] = rest.strip() or None
        return state
