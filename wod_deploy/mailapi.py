"""The mail API: postfix on POSTPORT for the api-db hosts only, procmail, the action handler.

The api-db talks plain SMTP to POSTPORT; postfix accepts it only from the api-db hosts and
localhost (others are rejected at SMTP time), delivers to WODUSER, whose procmail rules pass
messages from WODSENDER with one of the four actions to the handler (runtime/mailapi.py).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from pyinfra.api import DeployError, deploy
from pyinfra.operations import files, systemd

from facts.postfix import PostfixConfig
from facts.services import ServiceStates

from . import managed
from .admin import home
from .compliance import expect
from .managed import Managed, put, render
from .operations import postfix
from .settings import Settings

RUNTIME = Path(__file__).parent / "runtime"
LOG_DIR = "/var/log/wod"
CONFIG = "/etc/wod/mailapi.json"
APIDB_SECRET = "/etc/wod/apidb.secret"


def main_cf(s: Settings) -> dict[str, str]:
    networks = " ".join(["127.0.0.0/8", *s.mail_clients])
    return {
        "myhostname": s.WODBEEXTFQDN,
        "mydestination": "$myhostname, localhost.localdomain, localhost",
        "inet_interfaces": "all",
        "inet_protocols": "ipv4",
        "mynetworks": networks,
        "smtpd_client_restrictions": "permit_mynetworks, reject",
        "smtpd_relay_restrictions": "permit_mynetworks, reject",
        "smtpd_recipient_restrictions": "permit_mynetworks, reject",
        "mailbox_command": '/usr/bin/procmail -a "$EXTENSION"',
        "append_dot_mydomain": "no",
    }


def master_cf(s: Settings) -> dict[str, str | None]:
    """smtpd on POSTPORT instead of 25 (upstream's master.cf edit)."""
    return {"smtp/inet": None, f"{s.POSTPORT}/inet": f"{s.POSTPORT} inet n - y - - smtpd"}


def handler_config(s: Settings) -> dict:
    return {
        "sender": s.WODSENDER, "wod_user": s.WODUSER, "usermin": s.USERMIN, "usermax": s.USERMAX,
        "studdir": s.STUDDIR, "basestdid": s.BASESTDID, "workshops_dir": s.workshops_dir,
        "hub_url": f"http://127.0.0.1:{s.WODBEPORT}", "hub_token_file": s.hub_token_file,
        "fqdn": s.WODBEEXTFQDN, "postport": s.POSTPORT, "log_file": f"{LOG_DIR}/mail-api.log",
        "workshop_ports": s.WORKSHOP_PORTS,
        "branding": {k: getattr(s, k) for k in ("BRANDING", "BRANDINGWOD", "BRANDINGLOGO", "BRANDINGURL",
                                                "BRANDINGSLACK", "BRANDINGX", "SURVEYURL", "SURVEYCHALURL")},
        "apidb_url": s.WODAPIDBURL, "apidb_user": s.WODAPIDBUSER, "apidb_secret_file": APIDB_SECRET,
    }


def managed_files(s: Settings) -> list[Managed]:
    sender_regex = re.escape(s.WODSENDER)
    return [
        Managed(f"{home(s)}/.procmailrc", render("procmailrc.j2", s, sender_regex=sender_regex),
                s.WODUSER, s.WODUSER, 0o600),
        Managed("/usr/local/lib/wod/mailapi.py", (RUNTIME / "mailapi.py").read_text()),
        Managed("/usr/local/sbin/wod-mail-action", render("wod-mail-action.j2", s), mode=0o755),
        Managed("/usr/local/bin/wod-test-action", render("wod-test-action.j2", s), mode=0o755),
        Managed(CONFIG, json.dumps(handler_config(s), indent=2, sort_keys=True) + "\n"),
    ]


@deploy("Mail API")
def mail_api(settings: Settings):
    s = settings
    conf = postfix(name=f"Postfix: smtpd on {s.POSTPORT} for {' '.join(s.mail_clients) or 'localhost'} only",
                   main=main_cf(s), master=master_cf(s))
    files.directory(name="Mail API log directory", path=LOG_DIR, user="root", group="root", mode="0750")
    files.directory(name="Mail API config directory", path="/etc/wod", user="root", group="root", mode="0755")
    files.directory(name="Mail API handler directory", path="/usr/local/lib/wod", user="root", group="root",
                    mode="0755")
    files.directory(name=f"{s.WODUSER} mail directory", path=f"{home(s)}/.mail", user=s.WODUSER,
                    group=s.WODUSER, mode="0750")
    for f in managed_files(s):
        put(f, f"Mail API: {f.path}")
    if s.WODAPIDBURL:
        password = os.environ.get("WOD_APIDB_PASSWORD", "")
        if not password:
            raise DeployError("WODAPIDBURL is set: export WOD_APIDB_PASSWORD (the api-db moderator password); "
                              "it is written to the backend only, never to the repository")
        put(Managed(APIDB_SECRET, password + "\n", mode=0o600), "api-db password (from the environment)")
    systemd.service(name="Postfix enabled and running", service="postfix", running=True, enabled=True)
    systemd.service(name="Restart postfix (configuration changed)", service="postfix", restarted=True,
                    _if=conf.did_change)


def checks(settings: Settings, probe):
    s = settings
    current = probe(PostfixConfig)
    for key, value in main_cf(s).items():
        yield expect("mailapi.postfix_main", f"main.cf {key}", value, current.get("main", {}).get(key))
    for service, line in master_cf(s).items():
        yield expect("mailapi.postfix_master", f"master.cf {service}", line or "absent",
                     current.get("master", {}).get(service) or "absent")
    yield from managed.checks("mailapi.file", managed_files(s), probe)
    state = probe(ServiceStates, units=["postfix.service"])["postfix.service"]
    yield expect("mailapi.service", "postfix.service", "active, enabled", f"{state['active']}, {state['enabled']}")
