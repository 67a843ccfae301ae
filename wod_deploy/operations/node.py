"""Node.js applications built on the host from a source tree (operations/files.tree put it there):
dependencies installed only when package.json or its lock changed; a server application compiled
once with its own Babel and swapped in whole, a static site published as a read-only release
(facts/node.py). Each is built by an account of its own, and root takes the result as TAKE says."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation

from facts.node import BuiltFrom, PendingMigrations, ServedSite

from ..shell import argv, sh

# take USER WORK DEST LINKS: what USER built in WORK, as root's new DEST. Root never reads a tree
# that USER can still change nor with more than USER's rights: every process of USER ended first
# (one left by an npm install script could swap a link in mid-copy), then the tree read by USER
# (tar keeps links as links and reads nothing USER could not), unpacked by root. What is kept:
# files, directories and, with LINKS=inside, the links that resolve inside DEST (npm's .bin/)
TAKE = """set -eo pipefail; user="$1" work="$2" dest="$3" links="$4"
runuser -u "$user" -- kill -KILL -1 2>/dev/null || true
for i in $(seq 100); do pgrep -u "$user" >/dev/null || break; pkill -KILL -u "$user" || true; sleep 0.1; done
if pgrep -u "$user" >/dev/null; then echo "processes of $user survive being killed" >&2; exit 1; fi
rm -rf "$dest"; mkdir -m 0700 "$dest"
runuser -u "$user" -- tar -C "$work" -cf - . | tar -C "$dest" -xf - --no-same-owner --no-same-permissions
find "$dest" ! -type f ! -type d ! -type l -delete
if [ "$links" = inside ]; then
    find "$dest" -type l -print0 | while IFS= read -r -d '' l; do
        case "$(readlink -f -- "$l")" in "$dest"/*) ;; *) rm -f -- "$l";; esac
    done
else
    find "$dest" -type l -delete
fi
chown -R -h root:root "$dest"; chmod -R u=rwX,go=rX "$dest"
"""


def taken(user: str, work: str, dest: str, links: str = "none") -> str:
    return sh("bash -c %s take %s %s %s %s", TAKE, user, work, dest, links)


def as_builder(user: str, work: str, steps: list[str]) -> str:
    """`steps` run by `user` in `work` (its own, 0750), with its own HOME."""
    return sh("install -d -o %s -g %s -m 0750 %s && runuser -u %s -- env HOME=%s sh -ec %s",
              user, user, work, user, f"/var/lib/{user}", "\n".join([sh("cd %s", work), *steps]))


@operation()
def node_app(source: str, app: str, digest: str, compiled: list[str], env_file: str, overrides: dict[str, str],
             user: str, work: str):
    """`app` built from `source` (stamped `digest`) by the unprivileged `user` in `work`: `npm
    install` unless package.json and its lock are those of its last build, our `overrides`
    ({path: body}) written, the `compiled` directories through Babel (preset-env for this node);
    then root takes the result (TAKE), links `.env` to `env_file` and swaps it in whole."""
    if host.get_fact(BuiltFrom, app=app) == digest:
        host.noop(f"{app} is built from {digest[:12]}")
        return
    new, old = f"{app}.new", f"{app}.old"
    yield as_builder(user, work, [
        sh("rsync -a --delete --exclude /node_modules --exclude /.wod-deps %s/ ./", source),
        'deps="$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-64)"',
        '[ -d node_modules ] && [ "$(cat .wod-deps 2>/dev/null)" = "$deps" ] || { rm -f .wod-deps && '
        'npm install --no-audit --no-fund --include=dev --loglevel=error && echo "$deps" > .wod-deps; }',
        *(sh("printf '%%s' %s > %s", body, path) for path, body in sorted(overrides.items())),
        "printf '{\"presets\": [[\"%s/node_modules/@babel/preset-env\", {\"targets\": {\"node\": \"current\"}}]]}' "
        '"$PWD" > .wod-babel.json',
        sh("for d in %s; do [ ! -d \"$d\" ] || node_modules/.bin/babel --config-file \"$PWD/.wod-babel.json\" "
           "--copy-files \"$d\" -d \"dist/$d\" || exit 1; done", compiled),
    ])
    yield taken(user, work, new, links="inside")
    yield sh("ln -sfn %s %s/.env && echo %s > %s/.wod-build && rm -rf %s && { [ ! -e %s ] || mv %s %s; } "
             "&& mv %s %s && rm -rf %s", env_file, new, digest, new, old, app, app, old, new, app, old)


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


# publish RELEASE SERVED: RELEASE.new (taken from the build) as RELEASE, its manifest beside it
# (RELEASE.files, RELEASE.sha256), then SERVED switched to it in one rename
PUBLISH = """set -e; r="$1"; cd "$r.new"; find . -type f | sort > "$r.files"
xargs -d '\\n' sha256sum < "$r.files" > "$r.sha256"; cd /; rm -rf "$r"; mv "$r.new" "$r"
ln -sfn "$r" "$2.new"; mv -T "$2.new" "$2"
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
        yield as_builder(user, work, steps)
    yield sh("install -d -m 0755 %s && ", releases) + taken(user, f"{work}/public", f"{release}.new")
    yield sh("sh -c %s publish %s %s", PUBLISH, release, served)
    # the previous release stays, for a quick way back; older ones go
    yield sh("cd %s && ls -1t | grep -E '^[0-9a-f]{16}$' | grep -v %s | tail -n +2 "
             "| while read r; do rm -rf \"$r\" \"$r.sha256\" \"$r.files\"; done", releases, digest[:16])
