"""`wod-deploy`: compliance checks and drift, throwaway hosts, the demo backend.

    wod-deploy hosts up --role backend [--name NAME] [--distro debian-12]
    wod-deploy hosts down [NAME]
    wod-deploy hosts list [--json]
    wod-deploy demo [--name NAME]
    wod-deploy check INVENTORY [--limit X] [--json FILE] [--junit FILE] [--all]
    wod-deploy drift INVENTORY [--limit X] [--json FILE] [--junit FILE]
    wod-deploy settings INVENTORY [--limit X] [--json]
    wod-deploy backup INVENTORY [--limit X] --to DIR    the api-db's database dumped now, fetched
    wod-deploy restore INVENTORY DUMP --limit HOST      that dump made an api-db's whole database

check and drift exit 0 when compliant, 2 on drift, 1 when a host could not be checked.
`hosts` and `demo` need the test extra (the Docker SDK); nothing else does.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # pyinfra runs on gevent: patch before ssl, requests or docker are imported

import argparse  # noqa: E402
import json
import logging
import os
import secrets
import subprocess
import sys

from .compliance import drift, reporters, runner
from .roles import ROLES


def _testing():
    """The throwaway-host tools, imported only by the commands that use them (Docker SDK)."""
    from .testing import hosts

    return hosts


def pyinfra(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the pyinfra CLI of this venv from the project root (group_data is read from cwd)."""
    return subprocess.run([sys.executable, "-m", "pyinfra", *args, "-y"], text=True, stdin=subprocess.DEVNULL,
                          env={**os.environ, **(env or {})})


def _passed_on(args) -> list[str]:
    """--limit, --data and --group-data, given to pyinfra as they were given here."""
    out = []
    for flag, values in (("--limit", args.limit), ("--data", args.data), ("--group-data", args.group_data)):
        for value in values or []:
            out += [flag, value]
    return out


def _backup(args) -> int:
    """deploys/api_db_backup.py: each api-db host's database dumped now, as DIR/<host>.dump."""
    to = os.path.abspath(args.to)
    os.makedirs(to, mode=0o700, exist_ok=True)
    return pyinfra(args.inventory, "deploys/api_db_backup.py", *_passed_on(args), env={"WOD_BACKUP_TO": to}).returncode


def _restore(args) -> int:
    """deploys/api_db_restore.py on one api-db host: its database replaced by DUMP."""
    if not os.path.isfile(args.dump):
        print(f"restore: {args.dump}: no such file", file=sys.stderr)
        return 1
    return pyinfra(args.inventory, "deploys/api_db_restore.py", *_passed_on(args),
                   env={"WOD_RESTORE_DUMP": os.path.abspath(args.dump)}).returncode


def _hosts_up(args) -> int:
    host = _testing().up(role=args.role, name=args.name, distro=args.distro)
    print(f"{host.name}: role {host.role}, ssh 127.0.0.1:{host.ssh_port}, "
          + ", ".join(f"{k} 127.0.0.1:{v}" for k, v in host.ports.items()))
    return 0


def _hosts_down(args) -> int:
    removed = _testing().down(args.name)
    print("removed: " + (", ".join(removed) if removed else "nothing"))
    return 0


def _hosts_list(args) -> int:
    found = _testing().running()
    if args.json:
        print(json.dumps([h.to_json() for h in found], indent=2))
        return 0
    for h in found:
        ports = " ".join(f"{k}={v}" for k, v in h.ports.items())
        print(f"{h.name:20} {h.role:10} ssh={h.ssh_port} {ports}")
    return 0


def _demo(args) -> int:
    """A throwaway backend, converged, with one student ready to log in."""
    hosts = _testing()
    host = hosts.up(role="backend", name=args.name)
    result = pyinfra("inventories/docker.py", ROLES["backend"].deploy_file, "--limit", host.name)
    if result.returncode:
        return result.returncode
    password = secrets.token_urlsafe(9)
    # the slot opened as CREATE opens it: a password, the account not expired (a slot's end closes it)
    subprocess.run(["docker", "exec", "-i", host.container, "sh", "-c", "chpasswd && usermod --expiredate '' student1"],
                   input=f"student1:{password}\n", text=True, check=True)
    print(f"""
WoD backend '{host.name}' is up.
  JupyterHub:  http://127.0.0.1:{host.ports['hub']}/hub/login
  Log in as:   student1 / {password}
  SSH:         ssh -i .wod/ssh/id_ed25519 -p {host.ssh_port} {hosts.SSH_USER}@127.0.0.1
  Re-converge: .venv/bin/pyinfra inventories/docker.py deploys/backend.py
  Remove it:   make hosts-down""")
    return 0


def _override_data(items: list[str] | None) -> dict:
    """--data KEY=VALUE, parsed as pyinfra parses its own --data (ints, bools, JSON)."""
    from pyinfra_cli.util import parse_cli_arg

    data = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--data {item!r}: expected KEY=VALUE")
        data[key] = parse_cli_arg(value)
    return data


def _report(args):
    return runner.check_inventory(args.inventory, limit=args.limit, override_data=_override_data(args.data),
                                  group_data=args.group_data)


def _check(args) -> int:
    report = _report(args)
    reporters.write(report, args.json, args.junit)
    print(reporters.table(report, show_passed=args.all))
    return report.exit_code


def _drift(args) -> int:
    """The compliance checks, plus every operation a converge would run (pyinfra --dry --json)."""
    report = _report(args)
    report.checks += drift.pending(report, args.inventory, args.data, args.group_data)
    reporters.write(report, args.json, args.junit)
    print(reporters.table(report))
    return report.exit_code


def _settings(args) -> int:
    """Every setting of each selected host: value, origin, description (ansible-config dump)."""
    from .inventory import loaded, origins, selected
    from .settings import DECLARED, SettingsError, describe, load_settings

    out = {}
    with loaded(args.inventory, _override_data(args.data), args.group_data) as inv:
        for host in inv.inventory:
            if not selected(host, args.limit):
                continue
            try:
                values = load_settings(host.data, host=host.name, inventory=inv.inventory)
            except SettingsError as exc:
                print(exc, file=sys.stderr)
                return 1
            where = origins(inv, host)
            out[host.name] = {name: {"value": getattr(values, name), "origin": where[name], "doc": describe(name)}
                              for name in DECLARED}
    if args.json:
        print(json.dumps(out, indent=2, default=list))
        return 0
    for host, rows in out.items():
        print(f"# {host}")
        for name, row in rows.items():
            print(f"{name} = {row['value']!r}\n    from {row['origin']}: {row['doc']}")
    return 0


def _import_ansible(args) -> int:
    """Upstream's group_vars as group_data/*.py: what was written, what was not and why."""
    from pathlib import Path

    from .ansible_import import read, validate, write
    from .settings import SettingsError

    try:
        imported = read([Path(p) for p in [*args.path, *([args.private] if args.private else [])]])
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 1
    problems = validate(imported)
    if problems:
        print("import-ansible: the imported values do not pass the preflight; nothing written:\n"
              + "\n".join(problems), file=sys.stderr)
        return 1
    for path in write(imported, Path(args.out)):
        print(f"wrote {path}")
    print(f"\n{len(imported.unmapped)} keys not mapped:")
    for source, key, why in imported.unmapped:
        print(f"  {key}  ({source}): {why}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wod-deploy", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    h = sub.add_parser("hosts", help="throwaway Docker hosts").add_subparsers(dest="action", required=True)
    up = h.add_parser("up", help="start a throwaway host")
    up.add_argument("--role", default="backend", choices=sorted(ROLES))
    up.add_argument("--name")
    up.add_argument("--distro", default="debian-12")
    up.set_defaults(func=_hosts_up)
    down = h.add_parser("down", help="remove one throwaway host, or all")
    down.add_argument("name", nargs="?")
    down.set_defaults(func=_hosts_down)
    ls = h.add_parser("list", help="list running throwaway hosts")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_hosts_list)

    demo = sub.add_parser("demo", help="bring up and converge a throwaway backend")
    demo.add_argument("--name", default="demo")
    demo.set_defaults(func=_demo)

    for command, func, text in (("check", _check, "read-only compliance of an inventory"),
                                ("drift", _drift, "compliance plus what a converge would change")):
        p = sub.add_parser(command, help=text)
        p.add_argument("inventory")
        p.add_argument("--limit", action="append", help="group or host name pattern (repeatable)")
        p.add_argument("--json", metavar="FILE", help="write the JSON report here")
        p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report here")
        p.add_argument("--data", action="append", metavar="KEY=VALUE", help="override host data, as pyinfra --data")
        p.add_argument("--group-data", action="append", metavar="DIR",
                       help="extra group_data directory (the private overlay), as pyinfra --group-data")
        if command == "check":
            p.add_argument("--all", action="store_true", help="list passing checks too")
        p.set_defaults(func=func)

    p = sub.add_parser("settings", help="every setting of a host: value, origin, description")
    p.add_argument("inventory")
    p.add_argument("--limit", action="append", help="group or host name pattern (repeatable)")
    p.add_argument("--data", action="append", metavar="KEY=VALUE", help="override host data, as pyinfra --data")
    p.add_argument("--group-data", action="append", metavar="DIR", help="extra group_data directory (the overlay)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_settings)

    p = sub.add_parser("backup", help="the api-db's database dumped now and brought here (DIR/<host>.dump)")
    p.add_argument("inventory")
    p.add_argument("--to", required=True, metavar="DIR", help="where the dumps land (made 0700)")
    p.add_argument("--limit", action="append", help="group or host name pattern (repeatable)")
    p.add_argument("--data", action="append", metavar="KEY=VALUE", help="override host data, as pyinfra --data")
    p.add_argument("--group-data", action="append", metavar="DIR", help="extra group_data directory (the overlay)")
    p.set_defaults(func=_backup)

    p = sub.add_parser("restore", help="an api-db host's whole database replaced by a dump (after a dump of it)")
    p.add_argument("inventory")
    p.add_argument("dump", help="a file `wod-deploy backup` fetched")
    p.add_argument("--limit", action="append", required=True, help="the api-db host (a restore replaces its data)")
    p.add_argument("--data", action="append", metavar="KEY=VALUE", help="override host data, as pyinfra --data")
    p.add_argument("--group-data", action="append", metavar="DIR", help="extra group_data directory (the overlay)")
    p.set_defaults(func=_restore)

    p = sub.add_parser("import-ansible", help="upstream's Ansible group_vars as group_data/*.py")
    p.add_argument("path", nargs="+", help="upstream checkouts (wod-backend, wod-install) or group_vars directories, "
                                           "lowest precedence first")
    p.add_argument("--private", metavar="DIR", help="a wod-private checkout (wins over the others)")
    p.add_argument("--out", default="group_data", help="where to write (default: group_data)")
    p.set_defaults(func=_import_ansible)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("paramiko").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
