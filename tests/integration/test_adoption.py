"""A backend upstream's Ansible installed, adopted by a converge; then a JupyterHub pin bump.

The host is laid out by tests/fixtures/upstream-backend/layout.sh (what install_backend.yml and
check_backend.yml leave: a WODUSER-owned venv with JupyterHub 3.1.1, its database in the venv's
lib/, upstream's .procmailrc, its cron files and process killer, students with homes full of
work). The first converge pins an older JupyterHub than ours, so the second is a real pin bump of
our own deploy.
"""

import json
import os
import subprocess

import pytest
import requests

from wod_deploy.components.jupyterhub import BACKUPS
from wod_deploy.components.system import RETIRED
from wod_deploy.testing import hosts

from .conftest import NAME, ROOT, Backend, S, changed, pyinfra, timing, wod_deploy

pytestmark = pytest.mark.integration

HOST = f"{NAME}-upstream"
ENV = {"WOD_HOSTS": HOST}
FIXTURE = ROOT / "tests" / "fixtures" / "upstream-backend"
UPSTREAM_TOKEN = "upstream-wodbetoken-from-all-yml-0123456789"  # hub_db.py: all.yml's WODBETOKEN
OLD_PIN = ("jupyterhub==5.4.6", "jupyterlab==4.6.6")  # bumped to the default pin by the second converge
OLD = ("--data", f"HUB_PACKAGES={json.dumps(OLD_PIN)}")
OLD_DB = f"{S.JPHUB}/lib/jupyterhub.sqlite"
DB = f"{S.hub_state}/jupyterhub.sqlite"

# upstream's schedulers: each file, and where the adoption keeps it
SCHEDULERS = {f"/etc/cron.d/{name}": f"{RETIRED}/cron.d/{name}" for name in ("wod-deliver", "wod-check-template")} | {
    f"/etc/systemd/system/{unit}": f"{RETIRED}/systemd/{unit}" for unit in ("wod-kill-processes.service",
                                                                             "wod-npm-app.service")}

# Every name, type, size, owner and link target under /student, then every file's digest.
HOMES = (f"cd {S.STUDDIR} && {{ find . -printf '%p %y %s %U %G %l\\n' | sort; "
         "find . -type f -exec sha256sum {} + | sort; } | sha256sum")


@pytest.fixture(scope="module")
def upstream():
    hosts.down(HOST)
    host = hosts.up(role="backend", name=HOST)
    backend = Backend(host=host, first_run={}, second_run={})
    subprocess.run(["docker", "cp", str(FIXTURE), f"{host.container}:/root/upstream-backend"], check=True)
    backend.sh(f"/root/upstream-backend/layout.sh {S.USERMIN} {S.USERMAX}")
    yield backend
    if not os.environ.get("WOD_KEEP_HOSTS"):
        hosts.down(HOST)


def users_in(backend: Backend, db: str) -> list[str]:
    """The hub users stored in a database file, read with SQLite itself."""
    script = f"import sqlite3; print(*sorted(r[0] for r in sqlite3.connect('{db}').execute('select name from users')))"
    return backend.sh(f"python3 -c \"{script}\"").stdout.split()


def schema(backend: Backend, db: str) -> str:
    """The alembic revision a hub database is at."""
    script = (f"import sqlite3; print(sqlite3.connect('{db}')"
              ".execute('select version_num from alembic_version').fetchone()[0])")
    return backend.sh(f"python3 -c \"{script}\"").stdout.strip()


def hub_get(backend: Backend, token: str, path: str) -> requests.Response:
    return requests.get(f"{backend.hub}/hub/api{path}", headers={"Authorization": f"token {token}"}, timeout=10)


def backups(backend: Backend) -> list[str]:
    return backend.sh(f"ls {BACKUPS}").stdout.split()


def check(backend: Backend, *args: str) -> None:
    proc = wod_deploy("check", "inventories/docker.py", "--limit", HOST, *args, env=ENV)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_a_converge_adopts_an_upstream_backend_keeping_homes_and_hub_users(upstream):
    homes = upstream.sh(HOMES).stdout
    users = users_in(upstream, OLD_DB)
    schedulers = {path: upstream.sh(f"sha256sum < {path}").stdout for path in SCHEDULERS}
    assert upstream.sh("systemctl is-active wod-kill-processes").stdout.strip() == "active"
    assert "student3" in users and "wodadmin" in users
    old_schema = schema(upstream, OLD_DB)

    results, _, seconds = pyinfra(*OLD, limit=HOST, env=ENV)
    timing("first converge of an upstream-installed backend (adoption)", seconds)
    assert results["results"]["failed_hosts"] == []

    assert upstream.sh(HOMES).stdout == homes, "a student home changed"
    assert upstream.sh(f"test -e {OLD_DB}", check=False).returncode == 1, "the database is still in the venv"
    assert users_in(upstream, DB) == users
    (backup,) = backups(upstream)  # the 3.1.1 database, as it was before its schema upgrade
    assert users_in(upstream, f"{BACKUPS}/{backup}") == users
    upstream.wait_for_hub()
    assert schema(upstream, f"{BACKUPS}/{backup}") == old_schema != schema(upstream, DB), "not upgraded"
    listed = hub_get(upstream, upstream.token(), "/users")
    assert listed.status_code == 200, listed.text
    assert sorted(u["name"] for u in listed.json()) == users
    assert hub_get(upstream, UPSTREAM_TOKEN, "/users").status_code == 403, "upstream's shared token still works"
    # the venv upstream made as WODUSER is root's now; a participant no longer reads another's work
    assert upstream.sh(f"find {S.JPHUB} ! -user root | head -3").stdout == ""
    stranger = upstream.sh(f"cat '{S.STUDDIR}/student3/my notes (draft).txt'", user="student4", check=False)
    assert stranger.returncode != 0 and "Permission denied" in stranger.stderr
    # upstream's schedulers no longer run (its nightly Ansible would undo the adoption), and are kept
    for path, kept in SCHEDULERS.items():
        assert upstream.sh(f"test -e {path}", check=False).returncode == 1, f"{path} still in place"
        assert upstream.sh(f"sha256sum < {kept}").stdout == schedulers[path], f"{kept} is not upstream's {path}"
    assert upstream.sh("systemctl is-active wod-kill-processes", check=False).stdout.strip() == "inactive"
    assert upstream.sh("pgrep -f '[w]od-kill-processes.pl'", check=False).returncode == 1
    check(upstream, *OLD)

    again, _, _ = pyinfra(*OLD, limit=HOST, env=ENV)
    assert changed(again) == []


def test_a_jupyterhub_pin_bump_backs_up_the_database_upgrades_it_and_keeps_users(upstream):
    users = users_in(upstream, DB)
    before = backups(upstream)

    results, _, seconds = pyinfra(limit=HOST, env=ENV)  # the default pin: OLD_PIN bumped
    timing("JupyterHub pin bump (backup, upgrade-db, restart)", seconds)
    assert results["results"]["failed_hosts"] == []
    assert any("Back up the hub database" in name for name in changed(results)), changed(results)

    (backup,) = set(backups(upstream)) - set(before)
    assert users_in(upstream, f"{BACKUPS}/{backup}") == users
    assert upstream.sh(f"stat -c '%U %a' {BACKUPS}/{backup}").stdout.split() == ["root", "600"]
    hub = upstream.wait_for_hub()
    assert hub["version"] == dict(p.split("==") for p in S.HUB_PACKAGES)["jupyterhub"]
    listed = hub_get(upstream, upstream.token(), "/users")
    assert sorted(u["name"] for u in listed.json()) == users
    check(upstream)
