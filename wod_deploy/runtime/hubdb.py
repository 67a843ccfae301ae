"""The hub's SQLite database across upgrades and token changes; run as root by the venv's python.

    hubdb.py backup DB BACKUPS   a consistent copy of DB in BACKUPS (the hub may be running)
    hubdb.py prepare DB          before each start of the hub: stored service tokens revoked,
                                 the schema upgraded if the installed JupyterHub needs it

The deploy runs `backup` whenever the venv's packages changed: every JupyterHub pin bump leaves a
copy of the database it started from, even when the schema does not move. jupyterhub.service runs
`prepare`, so a hub never starts on a schema older than its code, however the run that changed
the code ended (`jupyterhub upgrade-db` is a no-op on a current schema, and copies the file itself
before it migrates). Services get their tokens from the config at every start: deleting the stored
ones first makes a token taken out of the config (a rotated admintk token, an upstream install's
shared WODBETOKEN) stop working. Users' own tokens are not touched. Standalone, stdlib only.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


def backup(db: Path, backups: Path) -> Path:
    """A consistent copy (SQLite's online backup), root 0600, named after the time it was made."""
    backups.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = backups / f"{db.stem}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.sqlite"
    target.touch(mode=0o600, exist_ok=False)
    source, copy = sqlite3.connect(f"file:{db}?mode=ro", uri=True), sqlite3.connect(target)
    with copy:
        source.backup(copy)
    source.close()
    copy.close()
    return target


def revoke_service_tokens(db: Path) -> int:
    """Delete the stored API tokens of services (users' own stay); returns how many went."""
    with sqlite3.connect(db) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'api_tokens'").fetchone():
            revoked = 0  # a database the hub never finished creating: it makes the table itself
        else:
            revoked = conn.execute("DELETE FROM api_tokens WHERE service_id IS NOT NULL").rowcount
    conn.close()
    return revoked


def prepare(db: Path) -> None:
    if not db.exists():
        return  # a first start: the hub creates its database
    print(f"{revoke_service_tokens(db)} stored service token(s) revoked; the config's are added back at start")
    venv = Path(sys.executable).parent  # upgrade-db runs alembic from the venv's bin
    subprocess.run([str(venv / "jupyterhub"), "upgrade-db", f"--db=sqlite:///{db}"], cwd=db.parent, check=True,
                   env={**os.environ, "PATH": f"{venv}:{os.environ.get('PATH', '/usr/bin:/bin')}"})


def main(argv: list[str]) -> int:
    match argv:
        case ["backup", db, backups] if Path(db).exists():
            print(f"hub database backed up to {backup(Path(db), Path(backups))}")
        case ["backup", _, _]:
            print("no hub database yet: nothing to back up")
        case ["prepare", db]:
            prepare(Path(db))
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
