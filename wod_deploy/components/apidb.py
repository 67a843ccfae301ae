"""The api-db application: upstream's wod-api-db (WODAPIDBDIR), run by node under systemd.

Its `*.j2` files are rendered here with the settings, as upstream's Ansible renders them, and
the tree is shipped when its digest changed. On the host it is built once (dependencies only when
package.json or its lock changed; src, routes, modules... through its own Babel preset) and run
as `wodapi` with journald logs, restarted on failure, and only when the build or its environment
changed. No pm2, no nodemon. Its environment (`/etc/wod-api-db/api-db.env`, 0600 `wodapi`, linked as
the app's `.env`) holds the database password and the JWT secret, both made on the host. npm and
Babel run as `wodapi-build`, whose build root takes as operations/node.TAKE says.

Schema, never lost: migrations forward only (sequelize-cli, as upstream), after a pg_dump kept on
the host (apidb_backup.py: with the daily ones, the last KEEP), before the app starts; never
db:drop nor reset-data.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from pyinfra.api import deploy as pyinfra_deploy
from pyinfra.operations import server, systemd
from pyinfra.operations.util import any_changed

from facts.files import EnvFile
from facts.node import BuiltFrom, PendingMigrations

from .. import managed
from ..checks import expect
from ..managed import Directory, File, Secret, Service, render
from ..operations.apt import apt_packages
from ..operations.files import env_file, secret_initial, secret_put, tree
from ..operations.node import migrations, node_app
from ..settings import Settings
from ..sources import application
from . import apidb_backup, postgres

ROOT = "/opt/wod-api-db"
SOURCE, APP = f"{ROOT}/source", f"{ROOT}/app"
USER = "wodapi"  # runs the app
BUILDER, WORK = "wodapi-build", "/var/lib/wodapi-build/build"  # builds it: nothing of it runs as root
PACKAGES = ("nodejs", "npm", "build-essential", "python3", "curl", "rsync")  # bcrypt builds with node-gyp
COMPILED = ["src", "routes", "modules", "middleware", "models", "controllers", "config"]
SKIPPED = {".git", "node_modules", "dist", "data", "ansible", "scripts", ".env"}
UNIT = "/etc/systemd/system/wod-api-db.service"
AUTH_LOG = "/usr/local/lib/wod/wod-api-db-auth.js"  # node -r: the line fail2ban's wod-api-db jail reads
BACKUPS = apidb_backup.BACKUPS  # a pg_dump before every migration, with the daily ones
# upstream signs its tokens with a constant (config/auth.config.js): ours reads the host's secret
OVERRIDES = {"config/auth.config.js": "module.exports = { secret: process.env.WODJWTSECRET };\n"}
# upstream refuses an address that contains any denied domain: an empty list ('') would refuse
# every address, so "none" is written as something no valid address contains
NOTHING_DENIED = "@@"


def env_path(s: Settings) -> str:
    return f"{postgres.ETC}/api-db.env"


def jwt_secret(s: Settings) -> str:
    return f"{postgres.ETC}/jwt.secret"


def _url(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    proto = parts.scheme or "http"
    return proto, parts.hostname or "localhost", parts.port or (443 if proto == "https" else 80)


def template_vars(s: Settings, name: str) -> dict:
    """What upstream's *.j2 read. Ports are ints: its templates compare them with 80."""
    fe = _url(s.WODFEEXTURL or "http://localhost:8000")
    api = ("http", name, s.WODAPIDBPORT)
    out = {"BRANDINGWOD": s.BRANDINGWOD, "BRANDINGURL": s.BRANDINGURL, "BRANDINGSLACK": s.BRANDINGSLACK,
           "BRANDINGX": s.BRANDINGX, "BRANDINGLOGOURL": f"{s.BRANDINGURL}/img/logo.png", "WODUSER": s.WODUSER}
    for prefix, (proto, fqdn, port) in (("WODFE", fe), ("WODFEEXT", fe), ("WODAPIDB", api), ("WODAPIDBEXT", api)):
        out.update({f"{prefix}PROTO": proto, f"{prefix}FQDN": fqdn, f"{prefix}PORT": port})
    return out


def staged(s: Settings, name: str) -> tuple[str, str]:
    """(local tarball, digest) of the application with its templates rendered."""
    return application("WODAPIDBDIR", s.WODAPIDBDIR, s.WODAPIDBREF, template_vars(s, name), SKIPPED)


def env_lines(s: Settings, name: str) -> list[str]:
    """The public part of the app's environment (secrets are added on the host)."""
    return [f"WODPGDB={s.WODPGDB}", f"WODPGUSER={s.WODPGDB}", f"WODAPIDBPORT={s.WODAPIDBPORT}",
            f"WODAPIDBFQDN={name}", f"WODSENDER={s.WODSENDER}", f"WODPOSTPORT={s.POSTPORT}",
            f"WODDENYLIST={','.join(s.WODDENYLIST) or NOTHING_DENIED}", "WODFEEDBACKURL=None"]


def sendgrid_key(s: Settings) -> str:
    """WODSENDGRIDAPIKEY: `None` (upstream's word for unset: mail goes through the backends'
    postfix) until the deploying environment gives one."""
    return f"{postgres.ETC}/sendgrid.secret"


def secrets(s: Settings) -> dict[str, str]:
    return {"WODPGPASSWD": postgres.password_file(s), "WODJWTSECRET": jwt_secret(s),
            "WODSENDGRIDAPIKEY": sendgrid_key(s)}


def owned(s: Settings) -> list[managed.Item]:
    return [Directory(ROOT), Directory(f"/var/lib/{BUILDER}", user=BUILDER, group=BUILDER, mode=0o750),
            Secret(jwt_secret(s)), File(AUTH_LOG, render("wod-api-db-auth.js.j2", s)),
            File(UNIT, render("wod-api-db.service.j2", s, root=APP, user=USER, preload=AUTH_LOG)),
            Service("wod-api-db")]


@pyinfra_deploy("api-db")
def deploy(settings: Settings):
    s = settings
    name = s.WODBEEXTFQDN  # how the backends and browsers reach it
    apt_packages(name="Node.js and what its native modules build with", packages=list(PACKAGES))
    server.user(name=f"Application account {USER}", user=USER, system=True, home=f"/var/lib/{USER}",
                shell="/usr/sbin/nologin")
    server.user(name=f"Build account {BUILDER}", user=BUILDER, system=True, home=f"/var/lib/{BUILDER}",
                shell="/usr/sbin/nologin")
    items = owned(s)
    ops = managed.deploy([i for i in items if not isinstance(i, Service)], "api-db", read=items)
    tarball, digest = staged(s, name)
    tree(name="Application source (templates rendered)", local_tar=tarball, digest=digest, dest=SOURCE)
    built = node_app(name=f"Build (as {BUILDER}: npm install when the dependencies changed, Babel)", source=SOURCE,
                     app=APP, digest=digest, compiled=COMPILED, env_file=env_path(s), overrides=OVERRIDES,
                     user=BUILDER, work=WORK)
    key = os.environ.get("WODSENDGRIDAPIKEY", "")
    sendgrid = (secret_put(name="SendGrid key (from the environment)", path=sendgrid_key(s), content=key + "\n")
                if key else secret_initial(name="SendGrid key: None unless the environment gives one",
                                           path=sendgrid_key(s), content="None"))
    env = env_file(name=f"Environment {env_path(s)} (secrets added on the host)", path=env_path(s),
                   lines=env_lines(s, name), secrets=secrets(s), user=USER)
    rewritten = env_file(name=f"Environment {env_path(s)} again (the SendGrid key changed)", path=env_path(s),
                         lines=env_lines(s, name), secrets=secrets(s), user=USER, rewrite=True,
                         _if=sendgrid.did_change)
    # before the app starts: its sync() would make the tables the migrations create
    migrated = migrations(name=f"Migrations of {s.WODPGDB} (after a pg_dump in {BACKUPS})", app=APP, user=USER,
                          database=s.WODPGDB, backups=BACKUPS, keep=apidb_backup.KEEP)
    unit, preload = (next(i for i in items if isinstance(i, File) and i.path == path) for path in (UNIT, AUTH_LOG))
    systemd.daemon_reload(name="Reload units (api-db)", _if=ops[unit].did_change)
    (started,) = managed.deploy([i for i in items if isinstance(i, Service)], "api-db", read=items).values()
    restarted = systemd.service(name="Restart the api-db (build, environment, unit or preload changed)",
                                service="wod-api-db", restarted=True,
                                _if=any_changed(built, env, rewritten, migrated, ops[unit], ops[preload]))
    server.shell(name=f"Wait for the api-db on port {s.WODAPIDBPORT}",
                 commands=[f"for i in $(seq 60); do curl -fsS -o /dev/null http://127.0.0.1:{s.WODAPIDBPORT}/ "
                           "&& exit 0; sleep 1; done; echo 'the api-db did not answer: journalctl -u wod-api-db' >&2; "
                           "exit 1"],
                 _if=any_changed(started, restarted))


def checks(settings: Settings, probe):
    s = settings
    name = s.WODBEEXTFQDN
    yield from managed.checks("apidb", owned(s), probe)
    _, digest = staged(s, name)
    pending = probe(PendingMigrations, app=APP, user=USER)
    yield expect("apidb.migrations", f"database {s.WODPGDB}", "no pending migration",
                 "unknown" if pending is None else ("no pending migration" if not pending
                                                    else "pending: " + ", ".join(pending)))
    built = probe(BuiltFrom, app=APP)
    yield expect("apidb.build", APP, f"built from {digest[:12]}", built and f"built from {built[:12]}")
    state = probe(EnvFile, path=env_path(s), secrets=secrets(s))
    yield expect("apidb.env", env_path(s), f"{USER}:{USER} 0600, secrets current",
                 state and f"{state['owner']} {state['mode']:04o}, "
                           f"secrets {'current' if state['secrets'] else 'stale'}")
