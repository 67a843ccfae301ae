"""Typed WoD settings built from pyinfra host data, validated before any host is touched.

Keys keep WoD's own names (`USERMIN`, `UIDBASE`, `JPHUB`, ...) so an admin maps an upstream
`all.yml` one to one. Every problem is reported with the key, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import socket
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

# Debian's useradd range for normal accounts (login.defs UID_MIN..UID_MAX).
UID_MIN, UID_MAX = 1000, 60000
NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
PIN_RE = re.compile(r"^[A-Za-z0-9_.\-\[\]]+(==|>=|<=|~=|<|>)[0-9][A-Za-z0-9.*+!]*$")


class SettingsError(ValueError):
    """Bad settings: the message names every offending key, its value and what is allowed."""

    def __init__(self, problems: list[str], host: str | None = None):
        self.problems = problems
        where = f" for host {host}" if host else ""
        super().__init__(f"invalid WoD settings{where}:\n  - " + "\n  - ".join(problems))


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


def _networks(v: Any) -> bool:
    if not _strlist(v):
        return False
    try:
        for x in v:
            ipaddress.ip_network(x, strict=False)
    except ValueError:
        return False
    return True


def _sysctl(v: Any) -> bool:
    return isinstance(v, dict) and all(
        isinstance(k, str) and re.match(r"^[a-z0-9_.-]+$", k) and isinstance(x, (int, str)) for k, x in v.items())


def _workshop_ports(v: Any) -> bool:
    return isinstance(v, dict) and all(
        isinstance(ws, str) and isinstance(ports, dict)
        and all(isinstance(k, str) and _port(p) for k, p in ports.items())
        for ws, ports in v.items()
    )


@dataclass(frozen=True)
class Settings:
    """One WoD environment as seen by one host. Field names are WoD's."""

    # students
    USERMIN: int = 1
    USERMAX: int = 20
    UIDBASE: int = 2000
    GIDBASE: int = 2000
    BASESTDID: int = 0
    STUDDIR: str = "/student"
    CLEAN: bool = False
    # admin
    WODUSER: str = "wodadmin"
    WODUSER_KEYS: tuple[str, ...] = ()
    WODSENDER: str = "wodadmin@localhost"
    # JupyterHub
    JPHUB: str = "/opt/jupyterhub"
    WODBEPORT: int = 8000
    HUB_PACKAGES: tuple[str, ...] = ()
    KERNEL_PACKAGES: tuple[str, ...] = ()
    CHP_VERSION: str = "4.6.3"
    # mail API
    POSTPORT: int = 10025
    MAILAPI_CLIENTS: tuple[str, ...] = ()  # beyond the api_db hosts of the inventory
    APIDB_ADDRESSES: tuple[str, ...] = ()  # derived from the inventory's api_db group
    WODAPIDBURL: str = ""  # e.g. http://api.example.org:8021/api; empty: no callbacks
    WODAPIDBUSER: str = "moderator"
    # workshops: a git URL or a directory on the machine running pyinfra
    WODNOBO: str = ""
    WODNOBO_REF: str = "main"
    PRIVATE_DIR: str = ""  # the private overlay (group_data/, workshops/, templates/)
    WODBEEXTFQDN: str = ""  # defaults to the inventory host name
    WODBEEXTIP: str = ""
    # security and system baseline
    SSHD_PORT: int = 22  # what the firewall keeps open for SSH
    F2B_MAXRETRY: int = 3
    F2B_BANTIME: int = 3600
    SYSCTL: dict = field(default_factory=lambda: {
        "net.ipv4.tcp_keepalive_time": 1800, "kernel.threads-max": 4096000,
        "kernel.pid_max": 200000, "vm.max_map_count": 600000})
    # system
    BASE_PACKAGES: tuple[str, ...] = ()
    WORKSHOP_PACKAGES: tuple[str, ...] = ()
    # branding and per-workshop values handed to notebooks
    BRANDING: str = "WoD Developer"
    BRANDINGWOD: str = "WoD Developer"
    BRANDINGLOGO: str = ""
    BRANDINGURL: str = "https://wod.io"
    BRANDINGSLACK: str = ""
    BRANDINGX: str = ""
    SURVEYURL: str = ""
    SURVEYCHALURL: str = ""
    WORKSHOP_PORTS: dict = field(default_factory=dict)

    @property
    def student_ids(self) -> range:
        return range(self.USERMIN, self.USERMAX + 1)

    def student(self, n: int) -> "Student":
        return Student(n=n, name=f"student{n}", uid=self.UIDBASE + n, gid=self.GIDBASE + n,
                       home=f"{self.STUDDIR}/student{n}")

    @property
    def students(self) -> list["Student"]:
        return [self.student(n) for n in self.student_ids]

    @property
    def hub_etc(self) -> str:
        return f"{self.JPHUB}/etc/jupyterhub"

    @property
    def hub_state(self) -> str:
        """The hub's database and cookie secret: kept across re-deploys."""
        return f"{self.JPHUB}/var/jupyterhub"

    @property
    def hub_token_file(self) -> str:
        return f"{self.hub_etc}/admintk.token"

    @property
    def mail_clients(self) -> list[str]:
        """Who may talk SMTP to POSTPORT (beyond localhost): the api-db hosts."""
        return sorted({*self.APIDB_ADDRESSES, *self.MAILAPI_CLIENTS})

    @property
    def workshops_dir(self) -> str:
        return "/var/lib/wod/workshops"


@dataclass(frozen=True)
class Student:
    n: int
    name: str
    uid: int
    gid: int
    home: str


# key -> (accepts the value?, what is allowed)
RULES: dict[str, tuple] = {
    "USERMIN": (lambda v: _int(v) and v >= 0, "an integer >= 0"),
    "USERMAX": (lambda v: _int(v) and v >= 0, "an integer >= 0 and >= USERMIN"),
    "UIDBASE": (_int, "an integer"),
    "GIDBASE": (_int, "an integer"),
    "BASESTDID": (lambda v: _int(v) and v >= 0, "an integer >= 0"),
    "STUDDIR": (lambda v: _str(v) and v.startswith("/") and v.rstrip("/") != "", "an absolute path other than /"),
    "CLEAN": (lambda v: isinstance(v, bool), "true or false"),
    "WODUSER": (lambda v: _str(v) and bool(NAME_RE.match(v)) and v != "root",
                "a non-empty Linux user name (lowercase letters, digits, _ or -; not root)"),
    "WODUSER_KEYS": (_strlist, "a list of SSH public key strings"),
    "WODSENDER": (lambda v: _str(v) and "@" in v and " " not in v, "an e-mail address"),
    "JPHUB": (lambda v: _str(v) and v.startswith("/") and v.rstrip("/") != "" and ".." not in v,
              "an absolute path other than / (the JupyterHub venv)"),
    "WODBEPORT": (_port, "a TCP port 1..65535"),
    "POSTPORT": (_port, "a TCP port 1..65535"),
    "HUB_PACKAGES": (_pins, "a list of pinned pip requirements (name==version)"),
    "KERNEL_PACKAGES": (_pins, "a list of pinned pip requirements (name==version)"),
    "CHP_VERSION": (lambda v: _str(v) and bool(re.match(r"^\d+\.\d+\.\d+$", v)), "a version like 4.6.3"),
    "BASE_PACKAGES": (_strlist, "a list of package names"),
    "WORKSHOP_PACKAGES": (_strlist, "a list of package names"),
    "WORKSHOP_PORTS": (_workshop_ports, "a dict {workshop: {PORTNAME: port 1..65535}}"),
    "MAILAPI_CLIENTS": (_networks, "a list of IP addresses or networks"),
    "APIDB_ADDRESSES": (_networks, "a list of IP addresses (derived from the api_db hosts)"),
    "WODAPIDBURL": (lambda v: _str(v) and (v == "" or re.match(r"^https?://[^\s]+$", v) is not None),
                    "empty or an http(s) URL"),
    "WODAPIDBUSER": (lambda v: _str(v) and v != "", "a user name"),
    "WODNOBO": (_str, "a git URL or a directory"),
    "WODNOBO_REF": (lambda v: _str(v) and re.match(r"^[A-Za-z0-9._/-]+$", v) is not None, "a git branch or tag"),
    "PRIVATE_DIR": (lambda v: _str(v) and (v == "" or v.startswith("/")), "empty or an absolute directory"),
    "WODBEEXTFQDN": (lambda v: _str(v) and re.match(r"^[A-Za-z0-9.-]*$", v) is not None, "a host name"),
    "WODBEEXTIP": (lambda v: v == "" or _networks([v]), "empty or an IP address"),
    "SSHD_PORT": (_port, "a TCP port 1..65535"),
    "F2B_MAXRETRY": (lambda v: _int(v) and v >= 1, "an integer >= 1"),
    "F2B_BANTIME": (lambda v: _int(v) and v >= 1, "seconds, >= 1"),
    "SYSCTL": (_sysctl, "a dict {sysctl.key: value}"),
}
for _name in ("BRANDING", "BRANDINGWOD", "BRANDINGLOGO", "BRANDINGURL", "BRANDINGSLACK", "BRANDINGX",
              "SURVEYURL", "SURVEYCHALURL"):
    RULES[_name] = (_str, "a string")

# pyinfra's own connector data (ssh_port, docker_platform, ...) is never a WoD typo.
CONNECTOR_PREFIXES = ("ssh_", "docker_", "podman_", "local_", "chroot_", "fake_", "winrm_", "vagrant_",
                      "terraform_", "wod_", "testhost_")
KNOWN = frozenset(f.name for f in fields(Settings))
assert KNOWN == frozenset(RULES), "every setting needs a validation rule"


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


def apidb_addresses(inventory) -> list[str]:
    """IP addresses of the inventory's api_db hosts, as the backend sees them.

    Per host: `wod_address`, else `ssh_hostname`, else its name; names are resolved here.
    """
    group = inventory.get_group("api_db", []) if inventory is not None else []
    addresses = []
    for host in group:
        name = host.data.get("wod_address") or host.data.get("ssh_hostname") or host.name
        try:
            addresses.append(str(ipaddress.ip_address(name)))
        except ValueError:
            try:
                addresses.append(socket.gethostbyname(name))
            except OSError as exc:
                raise SettingsError([f"api_db host {host.name}: address {name!r} does not resolve ({exc}); "
                                     f"set wod_address for it in the inventory"]) from None
    return sorted(set(addresses))


def load_settings(data: Any, host: str | None = None, inventory=None) -> Settings:
    """Build Settings from host data (a pyinfra HostData or a mapping); raise SettingsError.

    With the inventory, APIDB_ADDRESSES is derived from its api_db group.
    """
    values = data.dict() if hasattr(data, "dict") else dict(data)
    if inventory is not None and "APIDB_ADDRESSES" not in values:
        values["APIDB_ADDRESSES"] = apidb_addresses(inventory)
    if not values.get("WODBEEXTFQDN"):
        values["WODBEEXTFQDN"] = host if host and re.match(r"^[A-Za-z0-9.-]+$", host) else "localhost"
    problems = _unknown_near_misses(values)
    kwargs = {}
    for key in KNOWN:
        if key not in values:
            continue
        value = values[key]
        accepts, allowed = RULES[key]
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
    if s.POSTPORT == s.WODBEPORT:
        problems.append(f"POSTPORT={s.POSTPORT!r}: must differ from WODBEPORT")
    return problems
