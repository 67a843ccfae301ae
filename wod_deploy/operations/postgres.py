"""PostgreSQL for the api-db: a role owning a database of the same name, its password the secret
made on the host (it never leaves it), listening on localhost only (facts/postgres.py)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import OperationError, operation

from facts.postgres import PgLogin, PgState

from ..shell import sh

AS_POSTGRES = "runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d postgres"


@operation()
def pg_database(database: str, secret: str):
    """The role and database `database`, the role's password from the file `secret`, and
    listen_addresses = 'localhost' (ALTER SYSTEM: it outranks postgresql.conf)."""
    state = host.get_fact(PgState, database=database)
    if state is None and host.get_fact(PgLogin, database=database, secret=secret):
        raise OperationError("PostgreSQL answers over TCP but not to its superuser on the local socket")
    state = state or {"listen": None, "role": False, "owner": None}  # installed by an earlier operation
    changed = False
    if state["listen"] != "localhost":
        yield AS_POSTGRES + sh(" -c %s && systemctl restart postgresql",
                               "ALTER SYSTEM SET listen_addresses = 'localhost'")
        changed = True
    if not state["role"]:
        yield AS_POSTGRES + sh(" -c %s", f'CREATE ROLE "{database}" LOGIN')
        changed = True
    if state["owner"] is None:
        yield sh("runuser -u postgres -- createdb -O %s %s", database, database)
        changed = True
    elif state["owner"] != database:
        yield AS_POSTGRES + sh(" -c %s", f'ALTER DATABASE "{database}" OWNER TO "{database}"')
        changed = True
    if changed or not host.get_fact(PgLogin, database=database, secret=secret):
        changed = True
        # the password goes through stdin, never a command line another process could read
        yield sh("{ printf '\\\\set pw '; cat %s; printf '\\nALTER ROLE %%s PASSWORD :%%s;\\n' %s %s; } | ",
                 secret, f'"{database}"', "'pw'") + AS_POSTGRES
    if not changed:
        host.noop(f"database {database} is in place")
