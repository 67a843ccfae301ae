"""The rows of the api-db that the deploy owns (operations/apidb.py), read in one query as the
postgres superuser: workshops by notebook, locations by name, students by id, roles, and the
users with their password hashes and roles. Customers (what participants made) are not read."""

from __future__ import annotations

import json

from pyinfra.api import FactBase

from .postgres import psql

QUERY = """select json_build_object(
 'workshops', (select coalesce(json_object_agg(notebook, to_jsonb(w) - 'id' - 'createdAt' - 'updatedAt'), '{}')
               from workshops w),
 'locations', (select coalesce(json_object_agg(name, json_build_object('basestdid', basestdid, 'proto', proto,
                                                                         'port', port)), '{}') from locations),
 'students', (select coalesce(json_object_agg(id, json_build_object('url', url, 'username', username,
                                                                      'location', location)), '{}') from students),
 'roles', (select coalesce(json_agg(name order by name), '[]') from roles),
 'users', (select coalesce(json_object_agg(u.username, json_build_object('password', u.password, 'roles',
            (select coalesce(json_agg(r.name order by r.name), '[]')
             from user_roles ur join roles r on r.id = ur."roleId" where ur."userId" = u.id))), '{}') from users u))"""


class ApiDbRows(FactBase):
    """``{"workshops": {notebook: columns}, "locations": {...}, "students": {"<id>": {...}},
    "roles": [...], "users": {name: {"password": hash, "roles": [...]}}}``, or None before the
    schema exists."""

    def command(self, database: str) -> str:
        return psql(QUERY, database)

    def process(self, output: list[str]) -> dict | None:
        text = "\n".join(output)
        return json.loads(text) if text.startswith("{") else None
