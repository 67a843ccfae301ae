"""`wod-deploy`: throwaway hosts for developers and the demo backend.

    wod-deploy hosts up --role backend [--name NAME] [--distro debian-12]
    wod-deploy hosts down [NAME]
    wod-deploy hosts list [--json]
    wod-deploy demo [--name NAME]
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import subprocess
import sys

from .testing import hosts


def pyinfra(*args: str, json_output: bool = False) -> subprocess.CompletedProcess:
    """Run the pyinfra CLI of this venv from the project root (group_data is read from cwd)."""
    cmd = [sys.executable, "-m", "pyinfra", *args, "-y"]
    if json_output:
        cmd.append("--json")
    return subprocess.run(cmd, text=True, stdin=subprocess.DEVNULL,
                          capture_output=json_output)


def _hosts_up(args) -> int:
    host = hosts.up(role=args.role, name=args.name, distro=args.distro)
    print(f"{host.name}: role {host.role}, ssh 127.0.0.1:{host.ssh_port}, "
          + ", ".join(f"{k} 127.0.0.1:{v}" for k, v in host.ports.items()))
    return 0


def _hosts_down(args) -> int:
    removed = hosts.down(args.name)
    print("removed: " + (", ".join(removed) if removed else "nothing"))
    return 0


def _hosts_list(args) -> int:
    found = hosts.running()
    if args.json:
        print(json.dumps([h.to_json() for h in found], indent=2))
        return 0
    for h in found:
        ports = " ".join(f"{k}={v}" for k, v in h.ports.items())
        print(f"{h.name:20} {h.role:10} ssh={h.ssh_port} {ports}")
    return 0


def _demo(args) -> int:
    """A throwaway backend, converged, with one student ready to log in."""
    host = hosts.up(role="backend", name=args.name)
    result = pyinfra("inventories/docker.py", "deploys/backend.py", "--limit", host.name)
    if result.returncode:
        return result.returncode
    password = secrets.token_urlsafe(9)
    subprocess.run(["docker", "exec", "-i", host.container, "chpasswd"],
                   input=f"student1:{password}\n", text=True, check=True)
    print(f"""
WoD backend '{host.name}' is up.
  JupyterHub:  http://127.0.0.1:{host.ports['hub']}/hub/login
  Log in as:   student1 / {password}
  SSH:         ssh -i .wod/ssh/id_ed25519 -p {host.ssh_port} {hosts.SSH_USER}@127.0.0.1
  Re-converge: .venv/bin/pyinfra inventories/docker.py deploys/backend.py
  Remove it:   make hosts-down""")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wod-deploy", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    h = sub.add_parser("hosts", help="throwaway Docker hosts").add_subparsers(dest="action", required=True)
    up = h.add_parser("up", help="start a throwaway host")
    up.add_argument("--role", default="backend", choices=sorted(hosts.ROLE_PORTS))
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
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
