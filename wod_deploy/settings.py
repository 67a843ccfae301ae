"""Typed WoD settings built from pyinfra host data, validated before any host is touched.

Keys keep WoD's own names (`USERMIN`, `UIDBASE`, `JPHUB`, ...) so an admin maps an upstream
`all.yml` one to one. Every problem is reported with the key, the value and what is allowed.
"""

from __future__ import annotations

import copy
import difflib
import ipaddress
import os
import re
import socket
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Callable, Mapping

from .recipes import RECIPES
from .runtime import naming

# Debian's useradd range for normal accounts (login.defs UID_MIN..UID_MAX).
UID_MIN, UID_MAX = 1000, 60000
NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# Exact pins only: the check compares installed versions with these, nothing else.
PIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*==[0-9][A-Za-z0-9.+!]*$")


class SettingsError(ValueError):
    """Bad settings: the message names every offending key, its value and what is allowed."""

    def __init__(self, problems: list[str], host: str | None = None):
        self.problems = problems
        where = f" for host {host}" if host else ""
        super().__init__(f"invalid WoD settings{where}:\n  - " + "\n  - ".join(problems))


RELAYHOST_RE = re.compile(r"^((\[[A-Za-z0-9.:-]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?)?$")  # postfix's syntax


def _port(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _strlist(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and all(isinstance(x, str) and x for x in v)


def _pins(v: Any) -> bool:
    return _strlist(v) and all(PIN_RE.match(x) for x in v)


def _kernels(v: Any) -> bool:
    return _strlist(v) and len(set(v)) == len(v) and all(x in RECIPES for x in v)


def _networks(v: Any) -> bool:
    if not _strlist(v):
        return False
    try:
        for x in v:
            ipaddress.ip_network(x, strict=False)
    except ValueError:
        return False
    return True


def _workshop_vars(v: Any) -> bool:
    return isinstance(v, dict) and all(
        isinstance(k, str) and re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", k) and isinstance(x, (str, int, float))
        and not isinstance(x, bool) for k, x in v.items())


def _sysctl(v: Any) -> bool:
    return isinstance(v, dict) and all(
        isinstance(k, str) and re.match(r"^[a-z0-9_.-]+$", k) and isinstance(x, (int, str)) for k, x in v.items())


def _git_ref(v: Any) -> bool:
    return _str(v) and re.match(r"^[A-Za-z0-9._/-]+$", v) is not None


def _workshop_ports(v: Any) -> bool:
    return isinstance(v, dict) and all(
        isinstance(ws, str) and isinstance(ports, dict)
        and all(isinstance(k, str) and _port(p) for k, p in ports.items())
        for ws, ports in v.items()
    )


def setting(default: Any, rule: Callable[[Any], bool], allowed: str, doc: str):
    """One setting, declared once: its default, the rule a value must pass, what is allowed, what
    it is for. The field's annotation is its type."""
    meta = {"rule": rule, "allowed": allowed, "doc": doc}
    if isinstance(default, dict):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


_PORT = "a TCP port 1..65535"
_PINS = "a list of exact pins (name==version)"


@dataclass(frozen=True)
class Settings:
    """One WoD environment as seen by one host. Field names are WoD's; the declarations are the
    only defaults (group_data/ files override them; `wod-deploy settings` lists them)."""

    # students
    USERMIN: int = setting(1, lambda v: _int(v) and v >= 0, "an integer >= 0", "first student number")
    USERMAX: int = setting(20, lambda v: _int(v) and v >= 0, "an integer >= 0 and >= USERMIN",
                           "last student number (students are studentUSERMIN..studentUSERMAX)")
    UIDBASE: int = setting(2000, _int, "an integer", "studentN's uid is UIDBASE+N")
    GIDBASE: int = setting(2000, _int, "an integer", "studentN's group gid is GIDBASE+N")
    BASESTDID: int = setting(0, lambda v: _int(v) and v >= 0, "an integer >= 0",
                             "offset of this backend's students in the api-db (USERMAX x (backend number - 1))")
    STUDDIR: str = setting("/student", lambda v: _str(v) and v.startswith("/") and v.rstrip("/") != "",
                           "an absolute path other than /", "parent directory of the student homes")
    CLEAN: bool = setting(False, lambda v: isinstance(v, bool), "true or false",
                          "True removes every student account and home before re-creating them (WoD's meaning)")
    # admin
    WODUSER: str = setting("wodadmin", lambda v: _str(v) and bool(NAME_RE.match(v)) and v != "root",
                           "a non-empty Linux user name (lowercase letters, digits, _ or -; not root)",
                           "the admin account: sudo, owner of the workshops, receiver of the mail API")
    WODUSER_KEYS: tuple[str, ...] = setting((), _strlist, "a list of SSH public key strings",
                                            "SSH public keys allowed to log in as WODUSER")
    WODSENDER: str = setting("wodadmin@localhost", lambda v: _str(v) and "@" in v and " " not in v,
                             "an e-mail address", "the only sender the mail API obeys")
    # JupyterHub
    JPHUB: str = setting("/opt/jupyterhub",
                         lambda v: _str(v) and v.startswith("/") and v.rstrip("/") != "" and ".." not in v,
                         "an absolute path other than / (the JupyterHub venv)", "the JupyterHub venv")
    WODBEPORT: int = setting(8000, _port, _PORT, "the hub's port")
    HUB_PACKAGES: tuple[str, ...] = setting(("jupyterhub==5.5.4", "jupyterlab==4.6.6"), _pins, _PINS,
                                            "JupyterHub and JupyterLab in the venv")
    KERNELS: tuple[str, ...] = setting(("python3", "bash", "ssh"), _kernels,
                                       f"a list of distinct kernel names among {', '.join(RECIPES)}",
                                       "the Jupyter kernels the backend registers (each one's recipe: "
                                       "wod_deploy/recipes.py); a workshop needing another is refused at CREATE")
    KERNEL_PACKAGES: tuple[str, ...] = setting((), _pins, _PINS,
                                               "more pins in the venv; one naming a kernel recipe's package "
                                               "replaces the recipe's pin")
    HUB_TLS_CERT: str = setting("", lambda v: _str(v) and (v == "" or os.path.isfile(v)),
                                "empty or a file on the deploying machine",
                                "PEM certificate (and chain) the hub serves on WODBEPORT; empty: plain HTTP")
    HUB_TLS_KEY: str = setting("", lambda v: _str(v) and (v == "" or os.path.isfile(v)),
                               "empty or a file on the deploying machine",
                               "its private key, copied to the backend only (root, 0600), never shown")
    STUDENT_TASKS: int = setting(256, lambda v: _int(v) and v >= 32, "an integer >= 32",
                                 "processes and threads one participant may run at once (RLIMIT_NPROC of their uid)")
    STUDENT_MEMORY: int = setting(4096, lambda v: _int(v) and v >= 512, "MiB, >= 512",
                                  "address space of each of a participant's processes (RLIMIT_AS)")
    CHP_VERSION: str = setting("4.6.3", lambda v: _str(v) and bool(re.match(r"^\d+\.\d+\.\d+$", v)),
                               "a version like 4.6.3", "configurable-http-proxy from npm (5.x needs Node >= 20)")
    # mail API
    POSTPORT: int = setting(10025, _port, _PORT, "postfix's port for the mail API (instead of 25)")
    RELAYHOST: str = setting("", lambda v: _str(v) and RELAYHOST_RE.match(v) is not None,
                             "empty or postfix's relayhost syntax, like [smtp.example.org]:587",
                             "where the backend's postfix hands the participants' mail (the api-db's welcome and "
                             "credentials); empty: to each recipient's MX")
    RELAY_AUTH: bool = setting(False, lambda v: isinstance(v, bool), "true or false",
                               "the relay wants a login: WOD_RELAY_USER and WOD_RELAY_PASSWORD from the deploying "
                               "environment (stored on the backend only, 0600)")
    MAILAPI_CLIENTS: tuple[str, ...] = setting((), _networks, "a list of IP addresses or networks",
                                               "who may send the mail API, beyond the inventory's api_db hosts")
    APIDB_ADDRESSES: tuple[str, ...] = setting((), _networks, "a list of IP addresses (derived from the api_db hosts)",
                                               "the api-db hosts' addresses as the backend sees them "
                                               "(each host's wod_address, ssh_hostname or name)")
    APIDB_PEERS: tuple[str, ...] = setting((), _networks, "a list of IP addresses (derived from the backend and "
                                           "frontend hosts)", "who reaches WODAPIDBPORT when the portal proxies the "
                                           "api-db (WODAPIDBEXTURL a path): the backends and the portals")
    APIDB_CLIENTS: tuple[str, ...] = setting((), _networks, "a list of IP addresses or networks",
                                             "who else may reach WODAPIDBPORT when the portal proxies the api-db")
    WODAPIDBURL: str = setting("", lambda v: _str(v) and (v == "" or re.match(r"^https?://[^\s]+$", v) is not None),
                               "empty or an http(s) URL",
                               "api-db callbacks (e.g. http://api.example.org:8021/api); empty: no callbacks")
    WODAPIDB_ALLOW_HTTP: bool = setting(False, lambda v: isinstance(v, bool), "true or false",
                                        "accept an http:// WODAPIDBURL (the api-db password then crosses the "
                                        "network in clear)")
    CLEANED_WAIT: int = setting(900, lambda v: _int(v) and v >= 0, "seconds, >= 0",
                                "how long RESET and PURGE wait for the api-db to report the customer cleaned")
    CLEANED_POLL: int = setting(20, lambda v: _int(v) and v >= 1, "seconds, >= 1",
                                "how often they ask the api-db while waiting")
    CALLBACK_RETRY: int = setting(30, lambda v: _int(v) and v >= 1, "seconds, >= 1",
                                  "how often callbacks the api-db missed are sent again")
    CALLBACK_TTL: int = setting(3600, lambda v: _int(v) and v >= 1, "seconds, >= 1",
                                "how long a callback the api-db missed is kept for another try")
    WODAPIDBUSER: str = setting("moderator", lambda v: _str(v) and v != "", "a user name",
                                "the api-db user of the callbacks (password: WOD_APIDB_PASSWORD at deploy time)")
    # the api-db role: upstream's application, a git URL or a directory on the machine running pyinfra
    WODAPIDBDIR: str = setting("https://github.com/Workshops-on-Demand/wod-api-db.git", _str,
                               "a git URL or a directory", "the api-db application (cloned on the machine running "
                               "pyinfra)")
    WODAPIDBREF: str = setting("main", _git_ref,
                               "a git branch or tag", "the branch or tag of WODAPIDBDIR")
    WODAPIDBPORT: int = setting(8021, _port, _PORT, "the api-db's port")
    WODPGDB: str = setting("wodapidb", lambda v: _str(v) and re.match(r"^[a-z_][a-z0-9_]{0,62}$", v) is not None,
                           "a PostgreSQL name (lowercase letters, digits, _)",
                           "the api-db's database, and the role that owns it")
    WODAPIDBADMIN: str = setting("hackshack", lambda v: _str(v) and v != "", "a user name",
                                 "the api-db's admin user (password: WOD_APIDB_ADMIN_PASSWORD at deploy time)")
    WODDENYLIST: tuple[str, ...] = setting((), _strlist, "a list of e-mail domains",
                                           "registrations from these domains are refused")
    LOCATIONS: tuple[dict, ...] = setting((), lambda v: isinstance(v, (list, tuple)) and all(
                                              isinstance(d, dict) and {"name", "basestdid", "usermax"} <= set(d)
                                              for d in v),
                                          "a list of {name, address, basestdid, usermax, proto, port}",
                                          "the backends the api-db drives (derived from the inventory's backend "
                                          "group, in its order)")
    WODFEEXTURL: str = setting("", lambda v: _str(v) and (v == "" or re.match(r"^https?://[^\s/]+$", v) is not None),
                               "empty or a URL like https://portal.example.org[:port]",
                               "the portal as browsers reach it (CORS, links in mails); empty: "
                               "http://localhost:8000 (set it: the api-db only answers browsers from there)")
    # the frontend role: upstream's portal, built once per change and served by nginx
    WODFEDIR: str = setting("https://github.com/Workshops-on-Demand/wod-frontend.git", _str,
                            "a git URL or a directory", "the portal application (cloned on the machine running "
                            "pyinfra)")
    WODFEREF: str = setting("main", _git_ref,
                            "a git branch or tag", "the branch or tag of WODFEDIR")
    WODFEPORT: int = setting(8000, _port, _PORT, "the portal's port (nginx)")
    WODFE_TLS_CERT: str = setting("", lambda v: _str(v) and (v == "" or os.path.isfile(v)),
                                  "empty or a file on the deploying machine",
                                  "PEM certificate (and chain) nginx serves on WODFEPORT, plain HTTP there "
                                  "redirected to it; empty: plain HTTP")
    WODFE_TLS_KEY: str = setting("", lambda v: _str(v) and (v == "" or os.path.isfile(v)),
                                 "empty or a file on the deploying machine",
                                 "its private key, copied to the portal host only (root, 0600), never shown")
    WODAPIDBEXTURL: str = setting("/api", lambda v: _str(v) and re.match(r"^(https?://[^\s/]+)?/\S*$", v) is not None,
                                  "a path like /api or a URL like https://api.example.org/api",
                                  "the api-db as browsers reach it; /api: through the portal's own nginx")
    APIDB_UPSTREAM: str = setting("", lambda v: _str(v) and (v == "" or re.match(r"^https?://[^\s/]+$", v) is not None),
                                  "empty or a URL like http://10.0.0.3:8021",
                                  "where the portal's nginx and its build reach the api-db (derived from the "
                                  "inventory's first api_db host)")
    # workshops: a git URL or a directory on the machine running pyinfra
    WODNOBO: str = setting("https://github.com/Workshops-on-Demand/wod-notebooks.git", _str,
                           "a git URL or a directory", "public workshops (cloned on the machine running pyinfra)")
    WODNOBO_REF: str = setting("main", _git_ref,
                               "a git branch or tag", "the branch or tag of WODNOBO")
    HOOKS_DIR: str = setting("", _str, "empty or a directory on the machine running pyinfra",
                             "public per-workshop scripts (create-, post-copy-, cleanup-, reset-<WORKSHOP>.sh[.j2]); "
                             "the private ones live in PRIVATE_DIR/scripts")
    PRIVATE_DIR: str = setting("", lambda v: _str(v) and (v == "" or v.startswith("/")),
                               "empty or an absolute directory",
                               "the private overlay (its group_data/all.py sets it; workshops/ and templates/)")
    WODBEEXTFQDN: str = setting("", lambda v: _str(v) and re.match(r"^[A-Za-z0-9.-]*$", v) is not None,
                                "a host name", "the backend's external name (empty: the inventory host name)")
    WODBEEXTIP: str = setting("", lambda v: v == "" or _networks([v]), "empty or an IP address",
                              "the backend's external address (/etc/hosts)")
    # security and system baseline
    SSHD_PORT: int = setting(22, _port, _PORT, "what the firewall keeps open for SSH")
    F2B_MAXRETRY: int = setting(3, lambda v: _int(v) and v >= 1, "an integer >= 1", "failures before a ban")
    F2B_HTTP_MAXRETRY: int = setting(20, lambda v: _int(v) and v >= 1, "an integer >= 1",
                                     "4xx answers to one client within a minute before the portal bans it")
    F2B_BANTIME: int = setting(3600, lambda v: _int(v) and v >= 1, "seconds, >= 1", "how long a ban lasts")
    SYSCTL: dict = setting({"net.ipv4.tcp_keepalive_time": 1800, "kernel.threads-max": 4096000,
                            "kernel.pid_max": 200000, "vm.max_map_count": 600000},
                           _sysctl, "a dict {sysctl.key: value}", "kernel values (upstream's check_system)")
    BASE_PACKAGES: tuple[str, ...] = setting(
        ("acl", "sudo", "curl", "git", "rsync", "unzip", "vim", "ca-certificates"), _strlist,
        "a list of package names", "Debian packages on every host")
    WORKSHOP_PACKAGES: tuple[str, ...] = setting(
        (), _strlist, "a list of package names",
        "opt-in workshop toolchains, e.g. texlive-xetex default-jdk golang cargo rustc pandoc")
    # branding and per-workshop values handed to notebooks
    BRANDING: str = setting("WoD Developer", _str, "a string", "the platform's name in notebooks and mails")
    BRANDINGWOD: str = setting("WoD Developer", _str, "a string", "the WoD instance's name")
    BRANDINGLOGO: str = setting("![HPEDevlogo](Pictures/hpe-dev-logo.png)", _str, "a string",
                                "the logo (markdown) in notebooks")
    BRANDINGURL: str = setting("https://wod.io", _str, "a string", "the platform's URL")
    BRANDINGSLACK: str = setting("", _str, "a string", "the community's Slack URL")
    BRANDINGX: str = setting("", _str, "a string", "the community's X URL")
    SURVEYURL: str = setting("TBD", _str, "a string", "the workshop survey's URL")
    SURVEYCHALURL: str = setting("TBD", _str, "a string", "the challenge survey's URL")
    WORKSHOP_PORTS: dict = setting({
        "WKSHP-Docker101": {"SSHPORT": 14101, "HTTPPORT": 14151},
        "WKSHP-Ansible101": {"SSHPORT": 16001, "HTTPPORT": 16051},
        "WKSHP-Spark101": {"HTTPPORT": 17161},
        "WKSHP-Concourse101": {"HTTPPORT": 19061},
        "WKSHP-ML101": {"HTTPPORT": 18061},
        "WKSHP-DataVisu101": {"HTTPPORT": 22161},
        "WKSHP-Tensorflow101": {"HTTPPORT": 23161},
    }, _workshop_ports, "a dict {workshop: {PORTNAME: port 1..65535}}",
        "per-workshop base ports (upstream's HTTPPORT-WKSHP-X); studentN gets base + N - range min")

    WORKSHOP_VARS: dict = setting({}, _workshop_vars, "a dict {NAME: string or number}",
                                  "per-workshop values by their upstream names, e.g. IP-WKSHP-Docker101, "
                                  "DATAVISUTOK (upstream's private group vars)")

    @property
    def student_ids(self) -> range:
        return range(self.USERMIN, self.USERMAX + 1)

    def student(self, n: int) -> Student:
        return Student(n=n, name=naming.student_name(n), uid=self.UIDBASE + n, gid=self.GIDBASE + n,
                       home=naming.student_home(self.STUDDIR, n))

    @property
    def students(self) -> list[Student]:
        return [self.student(n) for n in self.student_ids]

    @property
    def admin_home(self) -> str:
        return f"/home/{self.WODUSER}"

    @property
    def hub_etc(self) -> str:
        return f"{self.JPHUB}/etc/jupyterhub"

    @property
    def hub_state(self) -> str:
        """The hub's database and cookie secret: kept across re-deploys."""
        return f"{self.JPHUB}/var/jupyterhub"

    @property
    def hub_scheme(self) -> str:
        return "https" if self.HUB_TLS_CERT else "http"

    @property
    def hub_token_file(self) -> str:
        return f"{self.hub_etc}/admintk.token"

    @property
    def mail_clients(self) -> list[str]:
        """Who may talk SMTP to POSTPORT (beyond localhost): the api-db hosts."""
        return sorted({*self.APIDB_ADDRESSES, *self.MAILAPI_CLIENTS})

    @property
    def proxy_port(self) -> int:
        """Where the proxy listens: WODBEPORT when only root may bind it; else 880, which the
        wod-hub-port unit redirects WODBEPORT to (a participant who binds WODBEPORT while the
        proxy restarts is sent nothing: the address is translated before any socket is chosen)."""
        return self.WODBEPORT if self.WODBEPORT < 1024 else 880

    @property
    def api_clients(self) -> list[str] | None:
        """Who may reach WODAPIDBPORT: None (anyone) when browsers call the api-db directly
        (WODAPIDBEXTURL a URL); else the backends, the portals and APIDB_CLIENTS (the portal's
        nginx is the one way in for browsers, with its rate limit)."""
        if not self.WODAPIDBEXTURL.startswith("/"):
            return None
        return sorted({*self.APIDB_PEERS, *self.APIDB_CLIENTS})

    # Where WoD's own code, configuration, logs and data live on a host (root's, 0755/0750).
    lib_dir = "/usr/local/lib/wod"
    runtime_dir = f"{lib_dir}/wod_runtime"  # wod_deploy/runtime/, the package the backend runs
    etc_dir = "/etc/wod"
    log_dir = "/var/log/wod"
    data_dir = "/var/lib/wod"
    # The hub's own ports on loopback, behind the proxy: privileged, so that no participant can hold
    # one while the hub restarts (to keep it down, or to be sent a token)
    hub_api_port = 881  # the hub's API (JupyterHub's default 8081)
    proxy_api_port = 882  # configurable-http-proxy's API (its default 8001)
    redirect_unit = "wod-hub-port"
    mail_socket = "/run/wod-mail-api.sock"  # procmail hands the mail API's messages to the handler here
    # postfix delivers WODUSER's mail to this account (no sudo, no login): procmail runs as it, so
    # a flaw in the mail path gives no one WODUSER's sudo
    mail_user = "wodmail"
    mail_home = "/var/lib/wod/mail"
    # pyinfra stages every upload here (config.TEMP_DIR) before sudo copies it into place: the SSH
    # user's own 0700 directory in a root-only parent, not a predictable name in the shared /tmp.
    staging_dir = "/var/cache/wod-deploy"

    @property
    def workshops_dir(self) -> str:
        return f"{self.data_dir}/workshops"


@dataclass(frozen=True)
class Student:
    n: int
    name: str
    uid: int
    gid: int
    home: str


DECLARED = {f.name: f for f in fields(Settings)}


def default(name: str) -> Any:
    f = DECLARED[name]
    return f.default_factory() if f.default is MISSING else f.default


def describe(name: str) -> str:
    return DECLARED[name].metadata["doc"]


# pyinfra's own connector data (ssh_port, docker_platform, ...) is never a WoD typo.
CONNECTOR_PREFIXES = ("ssh_", "docker_", "podman_", "local_", "chroot_", "fake_", "winrm_", "vagrant_",
                      "terraform_", "wod_")
KNOWN = frozenset(DECLARED)


def _unknown_near_misses(data: Mapping[str, Any]) -> list[str]:
    """Keys that look like a WoD setting but are not one (a typo would be silently ignored)."""
    problems = []
    upper = {k.upper(): k for k in KNOWN}
    for key in data:
        if not isinstance(key, str) or key in KNOWN or key.startswith("_") or key.startswith(CONNECTOR_PREFIXES):
            continue
        guess = upper.get(key.upper()) or next(iter(difflib.get_close_matches(key, KNOWN, n=1, cutoff=0.8)), None)
        if guess:
            problems.append(f"{key}={data[key]!r}: unknown key; did you mean {guess}?")
    return problems


def group_addresses(inventory, groups: tuple[str, ...]) -> list[str]:
    """IP addresses of the inventory's hosts in `groups`, as other hosts see them.

    Per host: `wod_address`, else `ssh_hostname`, else its name; names are resolved here.
    """
    hosts = [h for g in groups for h in (inventory.get_group(g, []) if inventory is not None else [])]
    addresses = []
    for host in hosts:
        name = host.data.get("wod_address") or host.data.get("ssh_hostname") or host.name
        try:
            addresses.append(str(ipaddress.ip_address(name)))
        except ValueError:
            try:
                addresses.append(socket.gethostbyname(name))
            except OSError as exc:
                raise SettingsError([f"{'/'.join(groups)} host {host.name}: address {name!r} does not resolve "
                                     f"({exc}); set wod_address for it in the inventory"]) from None
    return sorted(set(addresses))


def backend_ranges(inventory) -> list[tuple[str, int, int]]:
    """(backend host, BASESTDID, USERMAX) in inventory order: a BASESTDID set for a host is kept,
    the others follow the backend before them (its BASESTDID + its USERMAX), upstream's
    USERMAX x (n - 1) when every backend has the same USERMAX."""
    ranges, following = [], 0
    for host in inventory.get_group("backend", []) if inventory is not None else []:
        data = as_dict(host.data)
        usermax = data.get("USERMAX", default("USERMAX"))
        base = data.get("BASESTDID", following)
        if not (_int(usermax) and _int(base)):
            continue  # named by the host's own validation
        ranges.append((host.name, base, usermax))
        following = base + usermax
    return ranges


def as_dict(data: Any) -> dict:
    """Host data as a plain dict: a pyinfra HostData (every layer merged) or a mapping."""
    return data.dict() if hasattr(data, "dict") else dict(data)


def apidb_upstream(inventory, port) -> str:
    """The first api_db host as other hosts reach it (`wod_address`, `ssh_hostname` or its name)."""
    group = inventory.get_group("api_db", [])
    if not group:
        return ""
    first = group[0]
    return f"http://{first.data.get('wod_address') or first.data.get('ssh_hostname') or first.name}:{port}"


CATALOGUE = ("WODNOBO", "WODNOBO_REF", "PRIVATE_DIR")  # where the workshops the api-db is seeded with are


def apidb_catalogue(inventory, values: dict) -> dict:
    """For a portal, the catalogue keys its own data leaves unset, as the first api_db host has
    them: the portal's pages are made from the workshops that api-db is seeded with."""
    group = inventory.get_group("api_db", [])
    if not group:
        return {}
    theirs = as_dict(group[0].data)
    return {key: theirs[key] for key in CATALOGUE if key not in values and key in theirs}


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def apidb_url(inventory, port, host: str | None) -> tuple[str | None, str | None]:
    """(WODAPIDBURL, None) for a backend of this inventory: its api_db host's API, reached as
    `wod_address`, `ssh_hostname` or its name ("" with no api_db host); or (None, the reason it
    cannot be derived)."""
    group = inventory.get_group("api_db", [])
    if not group:
        return "", None
    if len(group) > 1:
        return None, (f"several api_db hosts ({', '.join(h.name for h in group)}): set WODAPIDBURL for each backend "
                      "to the api-db that drives it")
    apidb = group[0]
    name = apidb.data.get("wod_address") or apidb.data.get("ssh_hostname") or apidb.name
    if name in LOOPBACK and apidb.name != host:
        return None, (f"the api_db host {apidb.name} is reached at {name}, which the backend cannot use: "
                      "set wod_address for it in the inventory, or WODAPIDBURL")
    return f"http://{name}:{port}/api", None


def locations(inventory) -> list[dict]:
    """The inventory's backends as the api-db sees them: the name browsers and its mail use, the
    address it reaches them at (when the inventory gives one), their range of student ids."""
    found = []
    for host in inventory.get_group("backend", []):
        try:
            s = load_settings(host.data, host=host.name, inventory=inventory)
        except SettingsError:
            continue  # named by that host's own validation
        found.append({"name": s.WODBEEXTFQDN, "address": host.data.get("wod_address") or "",
                      "basestdid": s.BASESTDID, "usermax": s.USERMAX, "proto": s.hub_scheme, "port": s.WODBEPORT})
    return found


def overlapping_ranges(inventory) -> list[str]:
    """Two backends whose api-db student ids (BASESTDID+1 .. BASESTDID+USERMAX) overlap."""
    ranges, problems = backend_ranges(inventory), []
    for i, (a, base_a, max_a) in enumerate(ranges):
        for b, base_b, max_b in ranges[i + 1:]:
            if base_a < base_b + max_b and base_b < base_a + max_a:
                problems.append(f"BASESTDID: backends {a} (ids {base_a + 1}..{base_a + max_a}) and {b} "
                                f"(ids {base_b + 1}..{base_b + max_b}) overlap in the api-db")
    return problems


def load_settings(data: Any, host: str | None = None, inventory=None) -> Settings:
    """Build Settings from host data (a pyinfra HostData or a mapping); raise SettingsError.

    With the inventory, APIDB_ADDRESSES is derived from its api_db group, and a backend's
    WODAPIDBURL from its api_db host.
    """
    values = as_dict(data)
    if inventory is not None and "APIDB_ADDRESSES" not in values:
        values["APIDB_ADDRESSES"] = group_addresses(inventory, ("api_db",))
    if not values.get("WODBEEXTFQDN"):
        values["WODBEEXTFQDN"] = host if host and re.match(r"^[A-Za-z0-9.-]+$", host) else "localhost"
    api_dbs = {h.name for h in inventory.get_group("api_db", [])} if inventory is not None else set()
    if host in api_dbs and "LOCATIONS" not in values:
        values["LOCATIONS"] = locations(inventory)
    if host in api_dbs and "APIDB_PEERS" not in values:
        values["APIDB_PEERS"] = group_addresses(inventory, ("backend", "frontend"))
    frontends = {h.name for h in inventory.get_group("frontend", [])} if inventory is not None else set()
    if host in frontends:
        values.update(apidb_catalogue(inventory, values))
    if inventory is not None and not values.get("APIDB_UPSTREAM"):
        values["APIDB_UPSTREAM"] = apidb_upstream(inventory, values.get("WODAPIDBPORT", default("WODAPIDBPORT")))
    backends = {h.name for h in inventory.get_group("backend", [])} if inventory is not None else set()
    problems = []
    if host in backends and "WODAPIDBURL" not in values:
        url, why = apidb_url(inventory, values.get("WODAPIDBPORT", default("WODAPIDBPORT")), host)
        if why:
            problems.append(f"WODAPIDBURL: cannot be derived from the inventory: {why}")
        else:
            values["WODAPIDBURL"] = url
    if inventory is not None and "BASESTDID" not in values:
        values.update(("BASESTDID", base) for name, base, _ in backend_ranges(inventory) if name == host)
    problems += _unknown_near_misses(values)
    kwargs = {}
    for key in KNOWN:
        if key not in values:
            continue
        value = values[key]
        meta = DECLARED[key].metadata
        accepts, allowed = meta["rule"], meta["allowed"]
        if not accepts(value):
            problems.append(f"{key}={value!r}: must be {allowed}")
            continue
        kwargs[key] = tuple(value) if isinstance(value, list) else value
    if not problems:
        s = Settings(**kwargs)
        problems += _cross_checks(s)
    if problems:
        raise SettingsError(problems, host)
    return s


def _cross_checks(s: Settings) -> list[str]:
    problems = []
    if s.USERMAX < s.USERMIN:
        problems.append(f"USERMAX={s.USERMAX!r}: must be >= USERMIN ({s.USERMIN})")
    for base, what in (("UIDBASE", "uid"), ("GIDBASE", "gid")):
        low, high = getattr(s, base) + s.USERMIN, getattr(s, base) + s.USERMAX
        if low < UID_MIN or high > UID_MAX:
            problems.append(
                f"{base}={getattr(s, base)!r}: student {what}s {low}..{high} must stay within "
                f"{UID_MIN}..{UID_MAX} (normal accounts, never system ones)")
    if bool(s.HUB_TLS_CERT) != bool(s.HUB_TLS_KEY):
        problems.append(f"HUB_TLS_KEY={s.HUB_TLS_KEY!r}: HUB_TLS_CERT={s.HUB_TLS_CERT!r} and its key go together")
    if bool(s.WODFE_TLS_CERT) != bool(s.WODFE_TLS_KEY):
        problems.append(f"WODFE_TLS_KEY={s.WODFE_TLS_KEY!r}: WODFE_TLS_CERT={s.WODFE_TLS_CERT!r} and its key go "
                        "together")
    if s.WODAPIDBURL.startswith("http://") and not s.WODAPIDB_ALLOW_HTTP:
        problems.append(f"WODAPIDBURL={s.WODAPIDBURL!r}: must be https:// (every callback carries the api-db "
                        f"password); WODAPIDB_ALLOW_HTTP=True accepts http on purpose (README: HTTPS to the api-db)")
    if s.RELAY_AUTH and not s.RELAYHOST:
        problems.append("RELAY_AUTH=True: needs a RELAYHOST to log in to")
    if s.POSTPORT == s.WODBEPORT:
        problems.append(f"POSTPORT={s.POSTPORT!r}: must differ from WODBEPORT")
    return problems
