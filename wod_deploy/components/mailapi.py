"""The mail API: postfix on POSTPORT for the api-db hosts only, procmail, the action handler.

The api-db talks plain SMTP to POSTPORT, to WODUSER; postfix accepts it only from the api-db
hosts (others are rejected at SMTP time) and delivers WODUSER's mail to the mail account
(Settings.mail_user: no sudo, no shell), whose procmail passes the four actions to the handler's
socket; the handler (wod_deploy/runtime, which the system component ships) authenticates and
validates each message as root.
"""

from __future__ import annotations

import os

from pyinfra.api import DeployError
from pyinfra.api import deploy as pyinfra_deploy
from pyinfra.operations import systemd
from pyinfra.operations.util import any_changed

from facts.accounts import Account
from facts.postfix import MailQueue, PostfixConfig

from .. import managed, reads
from ..checks import expect
from ..managed import Directory, File, Service, render
from ..operations.accounts import account
from ..operations.files import secret_put
from ..operations.postfix import postfix
from ..settings import Settings

NOLOGIN = "/usr/sbin/nologin"


def config(s: Settings) -> str:
    return f"{s.etc_dir}/mailapi.json"


def apidb_secret(s: Settings) -> str:
    return f"{s.etc_dir}/apidb.secret"


RELAY_SECRET = "/etc/postfix/wod-relay.secret"  # `RELAYHOST user:password`, root 0600, read by postfix at start


def relay_cf(s: Settings) -> dict[str, str]:
    """The participants' mail (the api-db's welcome and credentials, relayed for the api-db hosts
    alone) to RELAYHOST (empty: each recipient's MX), over TLS when offered, logged in when
    RELAY_AUTH. Every key always written: a relay or a login dropped from the settings is dropped
    from main.cf too."""
    return {"relayhost": s.RELAYHOST, "smtp_tls_security_level": "may",
            "smtp_sasl_auth_enable": "yes" if s.RELAY_AUTH else "no",
            "smtp_sasl_password_maps": f"texthash:{RELAY_SECRET}" if s.RELAY_AUTH else "",
            "smtp_sasl_security_options": "noanonymous", "smtp_sasl_tls_security_options": "noanonymous"}


def main_cf(s: Settings) -> dict[str, str]:
    networks = " ".join(s.mail_clients)  # never localhost: students share it
    return {
        "myhostname": s.WODBEEXTFQDN,
        "mydestination": "$myhostname, localhost.localdomain, localhost",
        "inet_interfaces": "all",
        "inet_protocols": "ipv4",
        "mynetworks": networks,
        # local submission (sendmail) is for root and the admin: students share this host
        "authorized_submit_users": f"root, {s.WODUSER}",
        "smtpd_client_restrictions": "permit_mynetworks, reject",
        "smtpd_relay_restrictions": "permit_mynetworks, reject",
        "smtpd_recipient_restrictions": "permit_mynetworks, reject",
        "mailbox_command": '/usr/bin/procmail -a "$EXTENSION"',
        # the api-db writes to WODUSER; procmail runs as the mail account instead (WODUSER has sudo)
        "alias_maps": f"hash:/etc/aliases, inline:{{ {s.WODUSER}={s.mail_user} }}",
        # one delivery at a time per local recipient, in queue order: a CLEANUP and the PURGE
        # right behind it reach the handler in the order the api-db sent them. A delivery lasts
        # until the handler holds its student's lock, not the action (runtime/actions.py): a
        # room's CREATEs run at once.
        "local_destination_concurrency_limit": "1",
        "append_dot_mydomain": "no",
        **relay_cf(s),
    }


# The upstream api-db writes its whole dialogue before the banner, with bare LF line ends
# (modules/Email sendPostfixEmail). Postfix 3.9+ refuses both by default; the relaxation holds
# for the mail-API service alone, which only the api-db hosts may reach.
API_DB_DIALOGUE = ("-o", "smtpd_forbid_unauth_pipelining=no", "-o", "smtpd_forbid_bare_newline=no")


def master_cf(s: Settings) -> dict[str, str | None]:
    """smtpd on POSTPORT instead of 25 (upstream's master.cf edit)."""
    return {"smtp/inet": None, f"{s.POSTPORT}/inet": " ".join([f"{s.POSTPORT} inet n - y - - smtpd", *API_DB_DIALOGUE])}


def upstream_vars(s: Settings) -> dict:
    """What upstream's Ansible gives every workshop template beyond the branding, under upstream's
    names: the backend's names and ports, the students' range, and each workshop's base ports as
    `<NAME>-<WORKSHOP>` (HTTPPORT-WKSHP-Ansible101: 16051, read through hostvars)."""
    found = {"WODBEFQDN": s.WODBEEXTFQDN, "WODBEIP": s.WODBEEXTIP,  # WODBEEXTFQDN, WODUSER: runtime/variables
             "WODBEPORT": s.WODBEPORT, "POSTPORT": s.POSTPORT, "JPHUB": s.JPHUB, "STUDDIR": s.STUDDIR,
             "WODSTUDDIR": s.STUDDIR, "USERMIN": s.USERMIN, "USERMAX": s.USERMAX, "UIDBASE": s.UIDBASE,
             "GIDBASE": s.GIDBASE}
    for ws, ports in sorted(s.WORKSHOP_PORTS.items()):
        found.update((f"{name}-{ws}", base) for name, base in sorted(ports.items()))
    return found


def handler_config(s: Settings) -> dict:
    return {
        "sender": s.WODSENDER, "wod_user": s.WODUSER, "usermin": s.USERMIN, "usermax": s.USERMAX,
        "studdir": s.STUDDIR, "basestdid": s.BASESTDID, "workshops_dir": s.workshops_dir,
        "hub_url": f"http://127.0.0.1:{s.hub_api_port}", "hub_token_file": s.hub_token_file,
        "fqdn": s.WODBEEXTFQDN, "log_file": f"{s.log_dir}/mail-api.log",
        "workshop_ports": s.WORKSHOP_PORTS, "workshop_vars": s.WORKSHOP_VARS, "upstream_vars": upstream_vars(s),
        "branding": {k: getattr(s, k) for k in ("BRANDING", "BRANDINGWOD", "BRANDINGLOGO", "BRANDINGURL",
                                                "BRANDINGSLACK", "BRANDINGX", "SURVEYURL", "SURVEYCHALURL")},
        "clients": s.mail_clients, "kernels": list(s.KERNELS),
        "spool_dir": f"{s.data_dir}/callbacks", "callback_ttl": s.CALLBACK_TTL, "lock_dir": "/run/wod-mail-api",
        "inflight_dir": f"{s.data_dir}/inflight",
        "socket": s.mail_socket,
        "cleaned_wait": s.CLEANED_WAIT, "cleaned_poll": s.CLEANED_POLL,
        "apidb_url": s.WODAPIDBURL, "apidb_user": s.WODAPIDBUSER, "apidb_secret_file": apidb_secret(s),
    }


def owned(s: Settings) -> list[managed.Item]:
    return [
        Directory(s.mail_home, s.mail_user, s.mail_user, 0o750),
        Directory(f"{s.mail_home}/.mail", s.mail_user, s.mail_user, 0o750),
        File(f"{s.mail_home}/.procmailrc", render("procmailrc.j2", s), s.mail_user, s.mail_user, 0o600),
        File("/usr/local/sbin/wod-mail-action", render("wod-mail-action.j2", s), mode=0o755),
        File("/usr/local/bin/wod-test-action", render("wod-test-action.j2", s), "root", s.WODUSER, 0o750),
        File(config(s), render("mailapi.json.j2", s, handler_config=handler_config(s)), "root", s.WODUSER, 0o640),
        *units(s),
        Service("postfix"),
        Service("wod-mail-api.socket"),
        Service("wod-callbacks.timer"),
    ]


def units(s: Settings) -> list[File]:
    """The handler's socket and service (procmail connects, systemd runs the handler as root) and
    the callback retry timer."""
    return [File(f"/etc/systemd/system/{name}", render(f"{name}.j2", s))
            for name in ("wod-mail-api.socket", "wod-mail-api@.service", "wod-callbacks.service",
                         "wod-callbacks.timer")]


@pyinfra_deploy("Mail API")
def deploy(settings: Settings):
    s = settings
    items = owned(s)
    reads.together(reads.read(PostfixConfig), reads.read(Account, user=s.mail_user), managed.state_read(items))
    conf = postfix(name=f"Postfix: smtpd on {s.POSTPORT} for {' '.join(s.mail_clients) or 'nobody'} only",
                   main=main_cf(s), master=master_cf(s))
    account(name=f"Mail account {s.mail_user} (procmail runs as it)", user=s.mail_user, system=True,
            home=s.mail_home, shell=NOLOGIN)
    ops = managed.deploy([i for i in items if not isinstance(i, Service)], "Mail API", read=items)
    systemd.daemon_reload(name="Reload units (mail API)", _if=any_changed(*(ops[u] for u in units(s))))
    managed.deploy([i for i in items if isinstance(i, Service)], "Mail API", read=items)
    for unit in units(s):
        if unit.path.endswith((".socket", ".timer")):  # a listening unit takes its new settings on restart
            name = unit.path.rsplit("/", 1)[-1]
            systemd.service(name=f"Restart {name} (unit changed)", service=name, restarted=True,
                            _if=ops[unit].did_change)
    if s.WODAPIDBURL:
        password = os.environ.get("WOD_APIDB_PASSWORD", "")
        if not password:
            raise DeployError("WODAPIDBURL is set: export WOD_APIDB_PASSWORD (the api-db moderator password); "
                              "it is written to the backend only, never to the repository")
        secret_put(name="api-db password (from the environment)", path=apidb_secret(s), content=password + "\n")
    relay = relay_login(s)
    systemd.service(name="Restart postfix (configuration changed)", service="postfix", restarted=True,
                    _if=any_changed(conf, *relay))


def relay_login(s: Settings) -> list:
    """RELAY_AUTH's login, from the deploying environment to the backend only (never on a command
    line, nor in --diff)."""
    if not s.RELAY_AUTH:
        return []
    user, password = os.environ.get("WOD_RELAY_USER", ""), os.environ.get("WOD_RELAY_PASSWORD", "")
    if not (user and password):
        raise DeployError("RELAY_AUTH=True: export WOD_RELAY_USER and WOD_RELAY_PASSWORD (the relay's login); "
                          "they are written to the backend only, never to the repository")
    return [secret_put(name="Relay login (from the environment)", path=RELAY_SECRET,
                       content=f"{s.RELAYHOST} {user}:{password}\n")]


def checks(settings: Settings, probe):
    s = settings
    account = probe(Account, user=s.mail_user)
    yield expect("mailapi.account", f"user {s.mail_user}", f"home {s.mail_home}, shell {NOLOGIN}",
                 account and f"home {account['home']}, shell {account['shell']}")
    current = probe(PostfixConfig)
    for key, value in main_cf(s).items():
        yield expect("mailapi.postfix_main", f"main.cf {key}", value, current.get("main", {}).get(key))
    for service, line in master_cf(s).items():
        yield expect("mailapi.postfix_master", f"master.cf {service}", line or "absent",
                     current.get("master", {}).get(service) or "absent")
    yield from managed.checks("mailapi", owned(s), probe)
    waiting = [m for m in probe(MailQueue) if m["queue"] in ("deferred", "hold")]
    yield expect("mailapi.queue", "postfix queue", "nothing deferred",
                 "; ".join(f"{address} from {m['sender']}: {why or m['queue']}"[:200]
                           for m in waiting[:5] for address, why in m["recipients"]) or "nothing deferred",
                 "a participant's mail waits (their login, for one): mailq shows why, postqueue -f retries, "
                 "journalctl -u postfix says more")
