"""The api-db's backups: a pg_dump -Fc of WODPGDB every day and before each migration (apidb.py),
root's, in BACKUPS (0700), the newest KEEP kept, and the restore of one.

`wod-deploy backup` makes a dump now and brings it to the deploying machine (a backup that
stays on the host it protects is no backup); `wod-deploy restore` takes such a file to an api-db
host (a fresh one, converged) and replaces the database with it in one transaction, the app
stopped meanwhile, after a dump of what the database held. Files travel through the SSH user's
private staging directory, never readable by anyone else on the way.
"""

from __future__ import annotations

import posixpath

from pyinfra.api import deploy as pyinfra_deploy
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

from .. import managed
from ..managed import File, Service, render
from ..settings import Settings
from . import staging

BACKUPS = "/var/backups/wod-api-db"
KEEP = 7
SCRIPT = "/usr/local/sbin/wod-api-db-backup"
UNITS = ("wod-api-db-backup.service", "wod-api-db-backup.timer")
LATEST = f"{BACKUPS}/latest.dump"
RESTORING = f"{BACKUPS}/restoring.dump"


def units(s: Settings) -> list[File]:
    return [File(f"/etc/systemd/system/{name}", render(f"{name}.j2", s, backups=BACKUPS, script=SCRIPT))
            for name in UNITS]


def owned(s: Settings) -> list[managed.Item]:
    return [File(SCRIPT, render("wod-api-db-backup.j2", s, backups=BACKUPS, keep=KEEP), mode=0o750),
            *units(s), Service("wod-api-db-backup.timer")]


@pyinfra_deploy("api-db backups")
def deploy(settings: Settings):
    s = settings
    items = owned(s)
    ops = managed.deploy([i for i in items if not isinstance(i, Service)], "api-db backups", read=items)
    systemd.daemon_reload(name="Reload units (api-db backups)", _if=any_changed(*(ops[u] for u in units(s))))
    managed.deploy([i for i in items if isinstance(i, Service)], "api-db backups", read=items)


def checks(settings: Settings, probe):
    yield from managed.checks("apidb_backup", owned(settings), probe)


@pyinfra_deploy("api-db backup, fetched")
def fetch(settings: Settings, local: str):
    """A dump made now, copied to `local` on the deploying machine."""
    staging.deploy(settings)
    server.shell(name=f"pg_dump of {settings.WODPGDB} now ({SCRIPT})", commands=[SCRIPT])
    files.get(name=f"{LATEST} to {local}", src=LATEST, dest=local, force=True)


@pyinfra_deploy("api-db restored")
def restore(settings: Settings, local: str, port: int):
    """The dump `local` (from the deploying machine) made the whole database, the app stopped
    meanwhile and started again; what the database held before is dumped first, beside the others."""
    s = settings
    staging.deploy(settings)
    files.directory(name=f"Backups directory {BACKUPS}", path=BACKUPS, user="root", group="root", mode="700")
    files.put(name=f"{posixpath.basename(local)} to {RESTORING}", src=local, dest=RESTORING, user="root",
              group="root", mode="600", force=True)
    server.shell(name=f"Restore {s.WODPGDB} from it (pg_restore --clean, one transaction), after a dump", commands=[
        f"set -e\n{SCRIPT} >&2\nsystemctl stop wod-api-db\ntrap 'systemctl start wod-api-db' EXIT\n"
        f"runuser -u postgres -- pg_restore --clean --if-exists --single-transaction --exit-on-error "
        f"-d {s.WODPGDB} < {RESTORING}\nrm -f {RESTORING}"])
    server.shell(name=f"Wait for the api-db on port {port}",
                 commands=[f"for i in $(seq 60); do curl -fsS -o /dev/null http://127.0.0.1:{port}/ && exit 0; "
                           "sleep 1; done; echo 'the api-db did not answer: journalctl -u wod-api-db' >&2; exit 1"])
