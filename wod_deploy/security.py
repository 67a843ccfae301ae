"""fail2ban (a JupyterHub jail on the hub's real port and log, an sshd jail) and the ufw firewall."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import systemd
from pyinfra.operations.util import any_changed

from facts.services import ServiceStates
from facts.system import Ufw

from . import managed
from .compliance import expect
from .managed import Managed, put, render
from .operations import ufw
from .settings import Settings


def fail2ban_files(s: Settings) -> list[Managed]:
    return [Managed("/etc/fail2ban/filter.d/jupyterhub.conf", render("fail2ban-jupyterhub.conf.j2", s)),
            Managed("/etc/fail2ban/jail.local", render("fail2ban-jail.local.j2", s))]


def firewall_rules(s: Settings) -> list[str]:
    """The rules exactly as `ufw show added` prints them: SSH and the hub for all, the mail API
    port only for the api-db hosts."""
    return [f"ufw allow {s.SSHD_PORT}/tcp", f"ufw allow {s.WODBEPORT}/tcp",
            *(f"ufw allow from {client} to any port {s.POSTPORT} proto tcp" for client in s.mail_clients)]


@deploy("fail2ban")
def fail2ban(settings: Settings):
    changed = [put(f, f"fail2ban: {f.path}") for f in fail2ban_files(settings)]
    systemd.service(name="fail2ban enabled and running", service="fail2ban", running=True, enabled=True)
    systemd.service(name="Restart fail2ban (jails changed)", service="fail2ban", restarted=True,
                    _if=any_changed(*changed))


@deploy("Firewall")
def firewall(settings: Settings):
    ufw(name="ufw: deny incoming; allow SSH, the hub, and POSTPORT from the api-db hosts",
        rules=firewall_rules(settings))


def checks(settings: Settings, probe):
    yield from managed.checks("security.fail2ban_file", fail2ban_files(settings), probe)
    state = probe(ServiceStates, units=["fail2ban.service"])["fail2ban.service"]
    yield expect("security.fail2ban", "fail2ban.service", "active, enabled", f"{state['active']}, {state['enabled']}")
    fw = probe(Ufw) or {"active": False, "incoming": "absent", "rules": []}
    yield expect("security.firewall", "ufw", "active, incoming deny",
                 f"{'active' if fw['active'] else 'inactive'}, incoming {fw['incoming'] or 'unknown'}")
    yield expect("security.firewall_rules", "ufw rules", " | ".join(sorted(firewall_rules(settings))),
                 " | ".join(sorted(fw["rules"])))  # allow rules: their order does not matter
