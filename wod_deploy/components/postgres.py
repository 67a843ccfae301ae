"""PostgreSQL for the api-db, from Debian: one database owned by a role of the same name
(WODPGDB), whose password is made on the host (root, 0600) and never leaves it; listening on
localhost only (the firewall closes 5432 as well)."""

from pyinfra.api import deploy as pyinfra_deploy

from facts.postgres import PgLogin, PgState

from .. import managed
from ..checks import expect
from ..managed import Directory, Secret, Service
from ..operations.apt import apt_packages
from ..operations.postgres import pg_database
from ..settings import Settings

PACKAGES = ("postgresql",)


ETC = "/etc/wod-api-db"  # the api-db's configuration and secrets, root's


def password_file(s: Settings) -> str:
    return f"{ETC}/postgres.secret"


def owned(s: Settings) -> list[managed.Item]:
    return [Directory(ETC), Secret(password_file(s)), Service("postgresql")]


@pyinfra_deploy("PostgreSQL")
def deploy(settings: Settings):
    s = settings
    apt_packages(name="PostgreSQL from Debian", packages=list(PACKAGES))
    managed.deploy(owned(s), "PostgreSQL")
    pg_database(name=f"Database {s.WODPGDB}, its owner and password, on localhost only", database=s.WODPGDB,
                secret=password_file(s))


def checks(settings: Settings, probe):
    s = settings
    yield from managed.checks("postgres", owned(s), probe)
    state = probe(PgState, database=s.WODPGDB) or {}
    yield expect("postgres.listen", "listen_addresses", "localhost", state.get("listen"))
    yield expect("postgres.database", f"database {s.WODPGDB}", f"owned by {s.WODPGDB}",
                 state.get("owner") and f"owned by {state['owner']}")
    yield expect("postgres.login", f"role {s.WODPGDB}", "logs in with the host's password",
                 "logs in with the host's password" if probe(PgLogin, database=s.WODPGDB, secret=password_file(s))
                 else "refused")
