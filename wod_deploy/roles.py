"""The role registry: which components make each WoD role, in the order a person would set them
up, and which service ports the role serves. deploys/<role>.py, `wod-deploy check`, `wod-deploy
drift` and the throwaway hosts all read it; nothing else lists a role's components.

A role's deploy acts only on the hosts of its inventory group (the role guard), so running
deploys/backend.py over a whole inventory never turns an api-db or a portal into a backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType

from pyinfra import host
from pyinfra.api import operation

from . import arguments, callsite, reads, ssh
from .components import (
    admin,
    apidb,
    apidb_backup,
    apidb_data,
    fail2ban,
    firewall,
    jupyterhub,
    kernels,
    mailapi,
    nginx,
    packages,
    portal,
    postgres,
    staging,
    students,
    system,
    workshops,
)
from .settings import Settings, default, load_settings


@dataclass(frozen=True)
class Role:
    name: str  # the inventory group
    components: tuple[ModuleType, ...]
    ports: dict[str, str] = field(default_factory=dict)  # service -> the setting holding its port

    @property
    def deploy_file(self) -> str:
        return f"deploys/{self.name}.py"

    def port_numbers(self, settings: Settings | None = None) -> dict[str, int]:
        """{service: port} from the settings (default: the declared defaults)."""
        return {svc: getattr(settings, key) if settings else default(key) for svc, key in self.ports.items()}


ROLES = {
    role.name: role for role in (
        Role("backend", (staging, packages, admin, system, students, jupyterhub, kernels, workshops, mailapi,
                         fail2ban, firewall), {"hub": "WODBEPORT", "postfix": "POSTPORT"}),
        # the shared baseline (packages, admin, system, fail2ban, firewall) is the same components, each
        # giving a role what it runs: a backend's participants, hub and mail API stay its own
        Role("api_db", (staging, packages, admin, system, postgres, apidb, apidb_data, apidb_backup, fail2ban,
                        firewall), {"api": "WODAPIDBPORT"}),
        Role("frontend", (staging, packages, admin, system, portal, nginx, fail2ban, firewall),
             {"portal": "WODFEPORT"}),
    )
}


@operation()
def roles_before(roles: str):
    """Nothing, on every host: a step of the run's order that all operations before it, on any
    host, precede. pyinfra keeps each host's operations in sequence but merges the hosts' by
    position (a topological sort, ties by line): without it the portal's 10th operation, its
    build, runs beside the api-db's 10th, long before the api-db serves the rows the build
    reads. An operation called from the same line on every host is one node of that sort."""
    host.noop(f"{roles} converged first on their hosts")
    yield from ()  # an operation is a generator of commands; this one has none


_CONVERGED: dict[str, list[str]] = {}  # host -> the roles its deploy file has called so far


def converge(role_name: str) -> None:
    """Run a role's components, in order, on the current host if it belongs to the role's group.
    A deploy file that converges several roles (site.py) runs each after the ones it called
    before, on every host (roles_before)."""
    from pyinfra import inventory

    role = ROLES[role_name]
    callsite.install()
    arguments.install()
    before = _CONVERGED.setdefault(f"{id(host.state)}:{host.name}", [])
    if before:
        roles_before(name=f"Roles {', '.join(before)} before {role.name}", roles=", ".join(before))
    before.append(role.name)
    if role.name not in host.groups:
        return  # the role guard: other hosts get no operation of the role
    ssh.no_delay(host)  # connected already: pyinfra connects every host before running deploy files
    settings = load_settings(host.data, host=host.name, inventory=inventory)  # validated by config.py already
    arguments.pin(host)
    for component in role.components:
        component.deploy(settings)
    reads.send_ahead()  # the host reads while pyinfra prepares the next hosts
