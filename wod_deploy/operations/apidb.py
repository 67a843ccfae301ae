"""The api-db's reference rows, upserted: what upstream's wod-build-seeders and wod-update-db
produce, re-done here (facts/apidb.py). Rows participants made (customers) are never touched; a
workshop's capacity is set when it is added only (registrations count it down); a student's
password and assignment belong to the backend and the api-db.

SQL reaches psql through a root-only file, never a command line: it holds password hashes.
"""

from __future__ import annotations

import json
from io import StringIO

from passlib.hash import bcrypt
from pyinfra import host
from pyinfra.api import FileUploadCommand, operation

from facts.apidb import ApiDbRows

from ..shell import sh
from .files import staging_name

ROLES = ("user", "moderator", "admin")
# the app's sync() makes it at its first start; upstream makes it by hand when it has not yet
USER_ROLES = ('CREATE TABLE IF NOT EXISTS user_roles ("createdAt" timestamptz NOT NULL DEFAULT now(), '
              '"updatedAt" timestamptz NOT NULL DEFAULT now(), '
              '"roleId" integer REFERENCES roles(id) ON DELETE CASCADE ON UPDATE CASCADE, '
              '"userId" integer REFERENCES users(id) ON DELETE CASCADE ON UPDATE CASCADE, '
              'PRIMARY KEY ("roleId", "userId"));')


def literal(value) -> str:
    return str(int(value)) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


def upsert(table: str, key: str, row: dict, insert_only: tuple[str, ...] = ()) -> str:
    """An UPDATE of the row found by `key` and an INSERT when there is none, values typed by
    PostgreSQL from JSON (arrays, booleans) through the table's own row type."""
    doc = json.dumps(row, sort_keys=True)
    assert "$wod$" not in doc
    source = f"jsonb_populate_record(NULL::{table}, $wod${doc}$wod$::jsonb)"
    where = f'"{key}" = {literal(row[key])}'
    updated = [c for c in row if c not in insert_only and c != key]
    cols = ", ".join(f'"{c}"' for c in row)
    sql = ""
    if updated:
        sets = ", ".join(f'"{c}"' for c in updated)
        sql += (f'UPDATE {table} SET ({sets}, "updatedAt") = (SELECT {sets}, now() FROM {source}) WHERE {where};\n')
    return sql + (f'INSERT INTO {table} ({cols}, "createdAt", "updatedAt") SELECT {cols}, now(), now() FROM {source} '
                  f"WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {where});\n")


def _norm(value):
    """How a value compares: wod.yml may say "4" where the column holds 4."""
    return [_norm(v) for v in value] if isinstance(value, list) else str(value)


def _differs(want: dict, have: dict | None, ignore: tuple[str, ...] = ()) -> bool:
    return have is None or any(_norm(have.get(k)) != _norm(v) for k, v in want.items() if k not in ignore)


def plan(have: dict, workshops: list[dict], locations: list[dict], students: list[dict],
         users: dict[str, tuple[str, str]]) -> list[tuple[str, str]]:
    """(what, SQL) for each reference row that is missing or differs from what is wanted. Pure."""
    out = []
    for row in workshops:
        if _differs(row, have.get("workshops", {}).get(row["notebook"]), ignore=("capacity",)):
            out.append((f"workshop {row['notebook']}", upsert("workshops", "notebook", row, insert_only=("capacity",))))
    for row in locations:
        if _differs({k: v for k, v in row.items() if k != "name"}, have.get("locations", {}).get(row["name"])):
            out.append((f"location {row['name']}", upsert("locations", "name", row)))
    stale = [row for row in students if _differs({k: v for k, v in row.items() if k not in ("id", "password")},
                                                 have.get("students", {}).get(str(row["id"])))]
    for row in stale:
        out.append((f"student {row['id']}", upsert("students", "id", row, insert_only=("password",))))
    if stale:
        out.append(("students' id sequence",
                    "SELECT setval(pg_get_serial_sequence('students', 'id'), (SELECT max(id) FROM students));\n"))
    for role in ROLES:
        if role not in have.get("roles", []):
            out.append((f"role {role}", upsert("roles", "name", {"name": role})))
    for name, (role, password) in sorted(users.items()):
        current = have.get("users", {}).get(name)
        if current is None or not _verifies(password, current.get("password")):
            out.append((f"user {name}'s password", upsert(
                "users", "username", {"username": name, "email": f"{name}@localhost",
                                      "password": bcrypt.using(rounds=8).hash(password)}, insert_only=("email",))))
        if current is None or sorted(current.get("roles", [])) != sorted({"user", role}):
            grants = "".join('INSERT INTO user_roles ("roleId", "userId", "createdAt", "updatedAt") '
                             "SELECT r.id, u.id, now(), now() FROM roles r, users u "
                             f"WHERE r.name = {literal(granted)} AND u.username = {literal(name)} "
                             "ON CONFLICT DO NOTHING;\n" for granted in sorted({"user", role}))
            out.append((f"user {name}'s roles", USER_ROLES + "\n" + grants))
    return out


@operation()
def apidb_rows(database: str, workshops: list[dict], locations: list[dict], students: list[dict],
               users: dict[str, tuple[str, str]]):
    """Workshops (by notebook), locations (by name), students (by id), the three roles, and the
    `users` {name: (role, password)}: a password hash is replaced only when it no longer matches."""
    changes = plan(host.get_fact(ApiDbRows, database=database) or {}, workshops, locations, students, users)
    if not changes:
        host.noop(f"{database}: every reference row is in place")
        return
    script = f"/var/lib/wod/{database}-rows.sql"
    yield sh("install -d -m 0755 /var/lib/wod && rm -f %s && install -m 0600 /dev/null %s", script, script)
    yield FileUploadCommand(StringIO("BEGIN;\n" + "".join(sql for _, sql in changes) + "COMMIT;\n"), script,
                            remote_temp_filename=staging_name(script))
    yield sh("runuser -u postgres -- psql -XAtq -o /dev/null -v ON_ERROR_STOP=1 -d %s < %s; rc=$?; rm -f %s; exit $rc",
             database, script, script)


def _verifies(password: str, hashed: str | None) -> bool:
    try:
        return bool(hashed) and bcrypt.verify(password, hashed)
    except ValueError:
        return False
