"""The ufw firewall: incoming denied but SSH and each role's own services: on a backend the hub
and POSTPORT from the api-db hosts; on an api-db its API, to the backends and portals only when the portal proxies it
(PostgreSQL stays closed); on a portal its port."""

from __future__ import annotations

from pyinfra.api import deploy as pyinfra_deploy

from facts.ufw import Ufw

from .. import reads
from ..checks import expect
from ..operations.ufw import ufw
from ..settings import Settings


def rules(s: Settings, groups=("backend",)) -> list[str]:
    """The rules exactly as `ufw show added` prints them, for a host in `groups`."""
    found = [f"ufw allow {s.SSHD_PORT}/tcp"]
    if "backend" in groups:  # the hub for all, the mail API only for the api-db hosts
        found += [f"ufw allow {s.WODBEPORT}/tcp", f"ufw allow {s.proxy_port}/tcp",  # the second: translated
                  *(f"ufw allow from {client} to any port {s.POSTPORT} proto tcp" for client in s.mail_clients)]
    if "api_db" in groups:  # for all only when browsers call it directly
        clients = s.api_clients
        found += ([f"ufw allow {s.WODAPIDBPORT}/tcp"] if clients is None else
                  [f"ufw allow from {client} to any port {s.WODAPIDBPORT} proto tcp" for client in clients])
    if "frontend" in groups:
        found.append(f"ufw allow {s.WODFEPORT}/tcp")
    return list(dict.fromkeys(found))


@pyinfra_deploy("Firewall")
def deploy(settings: Settings):
    from pyinfra import host  # the host being deployed: its groups say which services it runs
    reads.together(reads.read(Ufw))

    ufw(name="ufw: deny incoming; allow SSH and this host's services", rules=rules(settings, host.groups))


def checks(settings: Settings, probe):
    rules_ = rules(settings, probe.host.groups)
    fw = probe(Ufw) or {"active": False, "incoming": "absent", "rules": [], "only_in": {}}
    yield expect("firewall.state", "ufw", "active, incoming deny",
                 f"{'active' if fw['active'] else 'inactive'}, incoming {fw['incoming'] or 'unknown'}")
    found = [*fw["rules"], *(f"{rule} ({family} only)" for rule, family in fw["only_in"].items())]
    yield expect("firewall.rules", "ufw rules", " | ".join(sorted(rules_)),
                 " | ".join(sorted(found)))  # allow rules: their order does not matter
