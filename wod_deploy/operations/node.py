"""A Node.js application built on the host from a source tree (operations/files.tree put it
there): dependencies installed only when package.json or its lock changed, compiled once with
the application's own Babel, swapped in whole (facts/node.py)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation

from facts.node import BuiltFrom, PendingMigrations

from ..shell import sh


@operation()
def node_app(source: str, app: str, digest: str, compiled: list[str], env_file: str, overrides: dict[str, str]):
    """`app` built from `source` (stamped `digest`): `npm install` unless the dependency files are
    those of the current build (then its node_modules is copied), our `overrides` ({path: body})
    written, the `compiled` directories through Babel (preset-env for this node), `.env` a link
    to `env_file`."""
    if host.get_fact(BuiltFrom, app=app) == digest:
        host.noop(f"{app} is built from {digest[:12]}")
        return
    new, old = f"{app}.new", f"{app}.old"
    script = [
        sh("rm -rf %s %s && cp -a %s %s && cd %s", new, old, source, new, new),
        'deps="$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-64)"',
        sh('if [ -d %s/node_modules ] && [ "$(cat %s 2>/dev/null)" = "$deps" ]; then cp -a %s/node_modules .; '
           "else npm install --no-audit --no-fund --include=dev --loglevel=error; fi", app, f"{app}/.wod-deps", app),
        'echo "$deps" > .wod-deps',
        *(sh("printf '%%s' %s > %s", body, path) for path, body in sorted(overrides.items())),
        "printf '{\"presets\": [[\"%s/node_modules/@babel/preset-env\", {\"targets\": {\"node\": \"current\"}}]]}' "
        '"$PWD" > .wod-babel.json',
        sh("for d in %s; do [ ! -d \"$d\" ] || node_modules/.bin/babel --config-file \"$PWD/.wod-babel.json\" "
           "--copy-files \"$d\" -d \"dist/$d\" || exit 1; done", compiled),
        sh("ln -sfn %s .env && echo %s > .wod-build && cd / && { [ ! -e %s ] || mv %s %s; } && mv %s %s && rm -rf %s",
           env_file, digest, app, app, old, new, app, old),
    ]
    yield "set -e; " + " && ".join(script)


@operation()
def migrations(app: str, user: str, database: str, backups: str, keep: int = 5):
    """The application's pending sequelize migrations (forward only), after a pg_dump of the
    database kept in `backups` (the last `keep`)."""
    pending = host.get_fact(PendingMigrations, app=app, user=user)
    if pending == []:
        host.noop(f"{database}: no pending migration")
        return
    yield sh("install -d -m 0700 %s && runuser -u postgres -- pg_dump -Fc %s > %s/%s-$(date +%%Y%%m%%d%%H%%M%%S).dump "
             "&& ls -1t %s/%s-*.dump | tail -n +%s | xargs -r rm -f",
             backups, database, backups, database, backups, database, keep + 1)
    yield sh("cd %s && runuser -u %s -- env NODE_ENV=production node_modules/.bin/sequelize db:migrate", app, user)
