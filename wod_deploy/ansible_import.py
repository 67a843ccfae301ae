"""`wod-deploy import-ansible`: upstream's Ansible variables as our group data.

Reads `ansible/group_vars/` of upstream checkouts (wod-backend, wod-install) and of a wod-private
checkout, in Ansible's order (the private layer wins), and writes `group_data/all.py` and one
`group_data/<group>.py` per group file, with our names. MAPPING below is the whole translation;
every key it cannot map is listed with the reason; no secret value is written, each becomes the
name of an environment variable the deploy reads.
"""

from __future__ import annotations

import ipaddress
import pprint
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .settings import SettingsError, load_settings

# upstream name -> ours (the same meaning, the same value)
MAPPING = {
    "WODUSERMIN": "USERMIN", "WODUSERMAX": "USERMAX", "UIDBASE": "UIDBASE", "GIDBASE": "GIDBASE", "CLEAN": "CLEAN",
    "JPHUB": "JPHUB", "WODBASESTDID": "BASESTDID", "WODUSER": "WODUSER", "WODSENDER": "WODSENDER",
    "WODPOSTPORT": "POSTPORT", "POSTPORT": "POSTPORT", "WODBEPORT": "WODBEPORT", "WODAPIDBPORT": "WODAPIDBPORT",
    "WODFEPORT": "WODFEPORT", "WODAPIDBURL": "WODAPIDBURL", "WODAPIDBEXTURL": "WODAPIDBEXTURL",
    "APIUSER": "WODAPIDBUSER", "JPHOST": "WODBEEXTFQDN", "JPIP": "WODBEEXTIP",
    "BRANDING": "BRANDING", "BRANDINGWOD": "BRANDINGWOD", "BRANDINGLOGO": "BRANDINGLOGO",
    "BRANDINGURL": "BRANDINGURL", "BRANDINGSLACK": "BRANDINGSLACK", "BRANDINGX": "BRANDINGX",
    "SURVEYURL": "SURVEYURL", "SURVEYCHALURL": "SURVEYCHALURL",
}
# <NAME>PORT[n]-WKSHP-X: 14151 -> WORKSHOP_PORTS["WKSHP-X"]["NAME..."]; IP-WKSHP-X and a workshop's
# own values (LLM101_MODEL_NAME) -> WORKSHOP_VARS, by their upstream names
WORKSHOP_PORT = re.compile(r"^(?P<name>[A-Z0-9]*PORT\d*)-(?P<workshop>WKSHP-[A-Za-z0-9_-]+)$")
WORKSHOP_IP = re.compile(r"^IP-WKSHP-[A-Za-z0-9_-]+$")
WORKSHOP_VALUE = re.compile(r"^[A-Z][A-Z0-9]*\d{3}_[A-Z0-9_]+$")  # LLM101_BASE_URL
# upstream keys secrets, whatever their name: their value never leaves the input files
SECRET_KEYS = {"APIPWD": "WOD_APIDB_PASSWORD"}  # what the deploy already reads
SECRET = re.compile(r"(PWD|PASSWD|PASSWORD|SECRET|TOKEN|KEY|SEC)$")
# what we read instead, or do not build; the key is reported with this reason
NOT_MAPPED = {
    "VAULTPWD": "not needed: no Ansible vault; per-student values are rendered on the backend",
    "WODBETOKEN": "not needed: the hub's service token is generated on the backend",
    "BRANDINGLOGOURL": "derived: BRANDINGURL/img/logo.png",
    "NOCHECKSSH": "appliance workshops are not built by wod-deploy",
    "WODMONITOR": "mailed error reports are not built: read the journal and `wod-deploy check`",
    "WODGROUP": "the inventory group: name your inventory after it (inventories/<group>.py)",
    "virtualenv_command": "distro detail: wod-deploy reads the host",
    "virtualenv_python": "distro detail: wod-deploy reads the host",
    "python_lib": "distro detail: wod-deploy reads the host",
    "dotnetpath": "distro detail: wod-deploy reads the host",
}
NOT_BUILT = {"WODLDAP": "LDAP is not built by wod-deploy", "OPNSENSE": "the OPNsense firewall is not driven"}
DISTRO_FILE = re.compile(r"^(CentOS|Rocky|Ubuntu|Debian)-\d+\.yml$")


@dataclass
class Imported:
    groups: dict[str, dict] = field(default_factory=dict)  # group -> {our key: value}
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # group -> {WORKSHOP_VARS key: env var}
    unmapped: list[tuple[str, str, str]] = field(default_factory=list)  # (file, key, why)
    sources: list[str] = field(default_factory=list)


def group_files(root: Path) -> list[Path]:
    """The group_vars files of a checkout (or of a group_vars directory itself), all.yml first."""
    where = root / "ansible" / "group_vars" if (root / "ansible" / "group_vars").is_dir() else root
    if not where.is_dir():
        raise SettingsError([f"import-ansible: {root}: no ansible/group_vars/ there"])
    return sorted((p for p in where.iterdir() if p.is_file()), key=lambda p: (p.stem != "all", p.name))


def read(paths: list[Path]) -> Imported:
    """Every group_vars file of `paths`, later ones winning (pass the private checkout last)."""
    out = Imported()
    for root in paths:
        for path in group_files(root):
            out.sources.append(str(path))
            try:
                values = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as exc:
                raise SettingsError([f"import-ansible: {path}: not YAML ({exc})"]) from None
            if not isinstance(values, dict):
                raise SettingsError([f"import-ansible: {path}: not a mapping of variables"])
            if DISTRO_FILE.match(path.name):
                out.unmapped += [(str(path), str(key), "distro detail: wod-deploy reads the host") for key in values]
                continue
            group = "all" if path.stem == "all" else path.stem
            for key, value in values.items():
                _one(out, str(path), group, str(key), value)
    for group, values in out.groups.items():  # Ansible merges per variable; group data per key
        if group != "all":
            for key in ("WORKSHOP_PORTS", "WORKSHOP_VARS"):
                if key in values:
                    values[key] = _deep_merge(out.groups.get("all", {}).get(key, {}), values[key])
            if "WORKSHOP_VARS" in values or group in out.secrets:
                out.secrets[group] = {**out.secrets.get("all", {}), **out.secrets.get(group, {})}
    return out


def _one(out: Imported, path: str, group: str, key: str, value) -> None:
    ours = out.groups.setdefault(group, {})
    if key in MAPPING:
        ours[MAPPING[key]] = value
    elif key in SECRET_KEYS:
        out.unmapped.append((path, key, f"secret: not written; export {SECRET_KEYS[key]} when deploying"))
    elif key in NOT_MAPPED:
        out.unmapped.append((path, key, NOT_MAPPED[key]))
    elif any(key.startswith(prefix) for prefix in NOT_BUILT):
        out.unmapped.append((path, key, next(w for p, w in NOT_BUILT.items() if key.startswith(p))))
    elif match := WORKSHOP_PORT.match(key):
        if isinstance(value, int) and 0 < value < 65536:
            ours.setdefault("WORKSHOP_PORTS", {}).setdefault(match["workshop"], {})[match["name"]] = value
        else:
            out.unmapped.append((path, key, f"placeholder {value!r}, not a port: set it when the workshop is used"))
    elif WORKSHOP_IP.match(key):
        if _is_ip(value):
            ours.setdefault("WORKSHOP_VARS", {})[key] = value
        else:
            out.unmapped.append((path, key, f"placeholder {value!r}, not an address: set it when the workshop is used"))
    elif SECRET.search(key):
        env = f"WOD_{re.sub(r'[^A-Z0-9]', '_', key.upper())}"
        out.secrets.setdefault(group, {})[key] = env
        out.unmapped.append((path, key, f"secret: WORKSHOP_VARS[{key!r}] reads ${env} at deploy time"))
    elif WORKSHOP_VALUE.match(key) and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        ours.setdefault("WORKSHOP_VARS", {})[key] = value
    else:
        out.unmapped.append((path, key, "no wod-deploy setting has this meaning"))


def _is_ip(value) -> bool:
    try:
        ipaddress.ip_address(str(value))
        return True
    except ValueError:
        return False


def _deep_merge(base: dict, top: dict) -> dict:
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for k, v in top.items():
        merged[k] = {**merged.get(k, {}), **v} if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return merged


def validate(imported: Imported) -> list[str]:
    """The preflight's verdict on each group's values, over all.py's (as pyinfra layers them)."""
    problems = []
    for group, values in imported.groups.items():
        layered = {**imported.groups.get("all", {}), **values}
        try:
            load_settings(layered, host=f"group {group}")
        except SettingsError as exc:
            problems.append(str(exc))
    return problems


def render(imported: Imported, group: str) -> str:
    """The group's file: our keys, sorted, as Python literals; secrets as environment reads."""
    values, secrets = dict(imported.groups.get(group, {})), imported.secrets.get(group, {})
    if secrets:
        values.setdefault("WORKSHOP_VARS", {})
    lines = ['"""Imported from upstream\'s Ansible variables by `wod-deploy import-ansible`, from:',
             *(f"    {s}" for s in imported.sources), "",
             "No secret is written here: each is read from the environment variable it names.", '"""', ""]
    if secrets:
        lines += ["import os", ""]
    for key, value in sorted(values.items()):
        lines.append(f"{key} = {pprint.pformat(value, width=100, sort_dicts=True)}")
    for key, env in sorted(secrets.items()):
        lines.append(f"WORKSHOP_VARS[{key!r}] = os.environ.get({env!r}, '')  # a secret: export {env}")
    return "\n".join(lines) + "\n"


def write(imported: Imported, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for group in imported.groups:
        path = out_dir / f"{group}.py"
        path.write_text(render(imported, group))
        written.append(path)
    return written
