"""PostgreSQL as the api-db uses it: its role and database, how it listens, whether the password
made on the host logs in. Read as the postgres superuser over the local socket."""

from __future__ import annotations

import json

from pyinfra.api import FactBase

from wod_deploy.shell import sh


def psql(query: str, database: str = "postgres") -> str:
    """One query as the postgres superuser, tuples only; nothing when PostgreSQL (or the database,
    or a table) is not there."""
    return sh("command -v psql >/dev/null && runuser -u postgres -- psql -XAtq -d %s -c %s 2>/dev/null "
              "|| true", database, query)


class PgState(FactBase):
    """``{"listen": "localhost", "role": true, "owner": "wodapidb"}`` for a database named like
    its owner role, or None when PostgreSQL does not answer."""

    def command(self, database: str) -> str:
        name = database.replace("'", "''")
        return psql("select json_build_object('listen', current_setting('listen_addresses'), "
                    f"'role', exists(select 1 from pg_roles where rolname = '{name}'), "
                    f"'owner', (select pg_get_userbyid(datdba) from pg_database where datname = '{name}'))")

    def process(self, output: list[str]) -> dict | None:
        return json.loads(output[0]) if output and output[0].startswith("{") else None


class PgLogin(FactBase):
    """Does the password in `secret` (a file on the host) log `database`'s owner in over TCP, as the
    application does? True or False."""

    def command(self, database: str, secret: str) -> str:
        return sh("[ -r %s ] && command -v psql >/dev/null && PGPASSWORD=\"$(cat %s)\" psql -XAtq -h 127.0.0.1 "
                  "-U %s -d %s -c 'select 1' 2>/dev/null || echo no", secret, secret, database, database)

    def process(self, output: list[str]) -> bool:
        return output == ["1"]
