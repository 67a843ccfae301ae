"""The ufw firewall: incoming denied but SSH, the hub, and POSTPORT from the api-db hosts."""

from __future__ import annotations

from pyinfra.api import deploy as pyinfra_deploy

from facts.ufw import Ufw

from ..checks import expect
from ..operations.ufw import ufw
from ..settings import Settings


def rules(s: Settings) -> list[str]:
    """The rules exactly as `ufw show added` prints them: SSH and the hub for all, the mail API
    port only for the api-db hosts."""
    return [f"ufw allow {s.SSHD_PORT}/tcp", f"ufw allow {s.WODBEPORT}/tcp",
            *(f"ufw allow from {client} to any port {s.POSTPORT} proto tcp" for client in s.mail_clients)]


@pyinfra_deploy("Firewall")
def deploy(settings: Settings):
    ufw(name="ufw: deny incoming; allow SSH, the hub, and POSTPORT from the api-db hosts", rules=rules(settings))


def checks(settings: Settings, probe):
    fw = probe(Ufw) or {"active": False, "incoming": "absent", "rules": []}
    yield expect("firewall.state", "ufw", "active, incoming deny",
                 f"{'active' if fw['active'] else 'inactive'}, incoming {fw['incoming'] or 'unknown'}")
    yield expect("firewall.rules", "ufw rules", " | ".join(sorted(rules(settings))),
                 " | ".join(sorted(fw["rules"])))  # allow rules: their order does not matter
