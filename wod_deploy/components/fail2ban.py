"""fail2ban on every role: an sshd jail, and a jail for what the role exposes: on a backend the
hub's failed logins (its journal, the hub's real port), on an api-db the app's refused /api/login
(its journal), on a portal nginx's rate-limit refusals and runs of 4xx answers (its logs)."""

from __future__ import annotations

from pyinfra.api import deploy as pyinfra_deploy
from pyinfra.operations import systemd
from pyinfra.operations.util import any_changed

from .. import managed, reads
from ..managed import File, Service, render
from ..settings import Settings

# each role's own filters (templates fail2ban-<name>.conf.j2)
FILTERS = {"backend": ("jupyterhub",), "api_db": ("wod-api-db",), "frontend": ("wod-portal-limit", "wod-portal-4xx")}


def owned(s: Settings, groups=("backend",)) -> list[managed.Item]:
    filters = [name for role, names in FILTERS.items() if role in groups for name in names]
    return [*(File(f"/etc/fail2ban/filter.d/{name}.conf", render(f"fail2ban-{name}.conf.j2", s)) for name in filters),
            File("/etc/fail2ban/jail.local", render("fail2ban-jail.local.j2", s, groups=groups)),
            Service("fail2ban")]


@pyinfra_deploy("fail2ban")
def deploy(settings: Settings):
    from pyinfra import host  # the host being deployed: its groups say what it exposes

    items = owned(settings, host.groups)
    reads.together(managed.state_read(items))
    ops = managed.deploy(items, "fail2ban")
    systemd.service(name="Restart fail2ban (jails changed)", service="fail2ban", restarted=True,
                    _if=any_changed(*(ops[i] for i in items if isinstance(i, File))))


def checks(settings: Settings, probe):
    yield from managed.checks("fail2ban", owned(settings, probe.host.groups), probe)
