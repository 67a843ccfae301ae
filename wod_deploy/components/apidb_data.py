"""The api-db's reference data: the rows upstream's seeders make, upserted (operations/apidb.py):
the workshops of the catalogue the backends get, a location per backend and its students
BASESTDID+1 .. BASESTDID+USERMAX, the moderator and admin users with bcrypt hashes of passwords
from the deploying environment. Customers, what participants made, are never touched.
"""

from __future__ import annotations

import os

from pyinfra.api import DeployError
from pyinfra.api import deploy as pyinfra_deploy

from facts.apidb import ApiDbRows

from ..checks import expect
from ..operations.apidb import apidb_rows as rows_operation
from ..operations.apidb import plan
from ..operations.files import lines_present
from ..settings import Settings
from . import workshops as catalogue

# wod.yml keys that are columns of upstream's workshops table (migrations/01-migration.js)
WORKSHOP_COLUMNS = ("name", "description", "active", "capacity", "priority", "range", "reset", "ldap",
                    "monoappliance", "multiappliance", "replayId", "varpass", "compile", "workshopImg", "badgeImg",
                    "beta", "category", "duration", "presenter", "role", "avatar", "replayLink")
PASSWORDS = {"moderator": "WOD_APIDB_PASSWORD", "admin": "WOD_APIDB_ADMIN_PASSWORD"}


def workshop_rows(s: Settings) -> list[dict]:
    """One row per workshop, as upstream's seeder writes it: the wod.yml keys that are columns,
    its directory as notebook, the first backend as its location, the others as alternates."""
    names = [loc["name"] for loc in s.LOCATIONS]
    rows = []
    for notebook, (_, meta) in sorted(catalogue._read(s).items()):
        row = {k: meta[k] for k in WORKSHOP_COLUMNS if k in meta and meta[k] is not None}
        row.update(notebook=notebook, sessionType="Workshops-on-Demand", location=names[0] if names else "",
                   alternateLocation=names[1:] or [""])
        rows.append(row)
    return rows


def location_rows(s: Settings) -> list[dict]:
    return [{"name": loc["name"], "basestdid": loc["basestdid"], "proto": loc.get("proto", "http"),
             "port": str(loc.get("port", 8000))} for loc in s.LOCATIONS]


def student_rows(s: Settings) -> list[dict]:
    """studentN of each backend at id BASESTDID+N; the password is the backend's to set."""
    return [{"id": loc["basestdid"] + n, "username": f"student{n}", "location": loc["name"], "password": "unset",
             "url": f"{loc.get('proto', 'http')}://{loc['name']}:{loc.get('port', 8000)}/user/student{n}/lab?"}
            for loc in s.LOCATIONS for n in range(1, loc["usermax"] + 1)]


def users(s: Settings) -> dict[str, tuple[str, str]]:
    """{name: (role, password)}, the passwords from the deploying environment."""
    found = {}
    for (role, variable), name in zip(PASSWORDS.items(), (s.WODAPIDBUSER, s.WODAPIDBADMIN)):
        password = os.environ.get(variable, "")
        if not password:
            raise DeployError(f"export {variable}: the api-db {role} {name}'s password (hashed with bcrypt into the "
                              "database; never written to the repository)")
        found[name] = (role, password)
    return found


def hosts_lines(s: Settings) -> list[str]:
    """/etc/hosts lines for the backends the inventory gives an address: the scheduler mails
    `<location>` on POSTPORT, and a location is a name."""
    return [f"{loc['address']} {loc['name']}" for loc in s.LOCATIONS if loc.get("address")]


@pyinfra_deploy("api-db data")
def deploy(settings: Settings):
    s = settings
    if hosts_lines(s):
        lines_present(name="The backends' names (/etc/hosts)", path="/etc/hosts", lines=hosts_lines(s))
    rows_operation(name="Reference rows: workshops, locations, students, roles, users (upserts)", database=s.WODPGDB,
                   workshops=workshop_rows(s), locations=location_rows(s), students=student_rows(s), users=users(s))


def checks(settings: Settings, probe):
    s = settings
    have = probe(ApiDbRows, database=s.WODPGDB)
    try:
        wanted = users(s)
    except DeployError:
        wanted = {}  # the passwords are not in this environment: the rest is still checked
    missing = [what for what, _ in plan(have or {}, workshop_rows(s), location_rows(s), student_rows(s), wanted)]
    yield expect("apidb.rows", f"database {s.WODPGDB}", "every reference row in place",
                 "every reference row in place" if have is not None and not missing
                 else "absent" if have is None else "differ: " + ", ".join(missing[:10]))
