"""Node.js applications built on the host from a source tree (operations/files.tree put it there):
dependencies installed only when package.json or its lock changed; a server application compiled
once with its own Babel and swapped in whole, a static site built by an unprivileged user and
published as a read-only release (facts/node.py)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation

from facts.node import BuiltFrom, PendingMigrations, ServedSite

from ..shell import argv, sh


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


# publish RELEASE WORK SERVED: WORK/public copied as root's RELEASE (no links, read-only), its
# manifest beside it (RELEASE.files, RELEASE.sha256), then SERVED switched to it in one rename
PUBLISH = """set -e; r="$1"; rm -rf "$r.new"; cp -R "$2/public" "$r.new"; find "$r.new" -type l -delete
chown -R root:root "$r.new"; chmod -R u=rwX,go=rX "$r.new"; cd "$r.new"; find . -type f | sort > "$r.files"
xargs -d '\\n' sha256sum < "$r.files" > "$r.sha256"; cd /; rm -rf "$r"; mv "$r.new" "$r"
ln -sfn "$r" "$3.new"; mv -T "$3.new" "$3"
"""


@operation()
def static_site(source: str, digest: str, user: str, work: str, releases: str, served: str, build: list[str]):
    """The site built from `source` (stamped `digest`) served through the link `served`.

    `user` builds in `work` (the source synced in, `npm install` when package.json changed, then
    `build`, whose output is `public/`); root publishes it in `releases` (root's, read-only, with
    a manifest) and switches `served` to it in one rename. A failed build stops before the
    switch, showing the build's errors: the previous site stays served. A served release that
    differs from its manifest is published again from `work`, or rebuilt."""
    release = f"{releases}/{digest[:16]}"
    state = host.get_fact(ServedSite, served=served, work=work) or {}
    if state.get("release") == digest[:16] and not state.get("damaged"):
        host.noop(f"{served} serves the build of {digest[:12]}")
        return
    if state.get("built") != digest[:16]:
        steps = [
            sh("cd %s", work),
            "rm -f .wod-built",
            sh("rsync -a --delete --exclude /node_modules --exclude /.cache --exclude '/.wod-*' %s/ ./", source),
            'deps="$(sha256sum package.json | cut -c1-64)"',
            '[ "$(cat .wod-deps 2>/dev/null)" = "$deps" ] || { rm -f .wod-deps && npm install --no-audit --no-fund '
            '--legacy-peer-deps --loglevel=error && echo "$deps" > .wod-deps; }',
            f"{{ {argv(build)}; }} > .wod-build.log 2>&1 || {{ echo 'the build failed:' >&2; "
            "grep -i -A 12 -E '^(error|failed) ' .wod-build.log | head -n 80 >&2; echo '... and its log ends:' >&2; "
            "tail -n 10 .wod-build.log >&2; exit 1; }",
            sh("echo %s > .wod-built", digest[:16]),
        ]
        yield sh("install -d -o %s -g %s -m 0750 %s && runuser -u %s -- env HOME=%s sh -ec %s",
                 user, user, work, user, f"/var/lib/{user}", "\n".join(steps))
    yield sh("install -d -m 0755 %s && sh -c %s publish %s %s %s", releases, PUBLISH, release, work, served)
    # the previous release stays, for a quick way back; older ones go
    yield sh("cd %s && ls -1t | grep -E '^[0-9a-f]{16}$' | grep -v %s | tail -n +2 "
             "| while read r; do rm -rf \"$r\" \"$r.sha256\" \"$r.files\"; done", releases, digest[:16])
