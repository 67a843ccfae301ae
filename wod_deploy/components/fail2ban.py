"""fail2ban: a JupyterHub jail on the hub's real port reading the hub's journal, and an sshd jail."""

from __future__ import annotations

from pyinfra.api import deploy as pyinfra_deploy
from pyinfra.operations import systemd
from pyinfra.operations.util import any_changed

from .. import managed, reads
from ..managed import File, Service, render
from ..settings import Settings


def owned(s: Settings) -> list[managed.Item]:
    return [File("/etc/fail2ban/filter.d/jupyterhub.conf", render("fail2ban-jupyterhub.conf.j2", s)),
            File("/etc/fail2ban/jail.local", render("fail2ban-jail.local.j2", s)),
            Service("fail2ban")]


@pyinfra_deploy("fail2ban")
def deploy(settings: Settings):
    items = owned(settings)
    reads.together(managed.state_read(items))
    ops = managed.deploy(items, "fail2ban")
    systemd.service(name="Restart fail2ban (jails changed)", service="fail2ban", restarted=True,
                    _if=any_changed(*(ops[i] for i in items if isinstance(i, File))))


def checks(settings: Settings, probe):
    yield from managed.checks("fail2ban", owned(settings), probe)
