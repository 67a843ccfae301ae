"""Drift: the compliance checks, plus every operation a converge would run (pyinfra --dry --json
of each role's deploy file)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Iterator

from ..checks import DRIFT, ERROR, Check
from ..roles import ROLES
from .model import Report


def changed_operations(plan: list[dict]) -> Iterator[tuple[str, str]]:
    """(host, operation) pairs that a `pyinfra --dry --json` plan would change."""
    for op in plan:
        for host in op.get("hosts_with_change", []):
            yield host, op["name"]


def pending(report: Report, inventory: str, data: list[str] | None = None,
            group_data: list[str] | None = None) -> list[Check]:
    """One drift check per operation a converge would run on a host of the report (the dry run is
    limited to those hosts: another host that cannot be reached does not spoil it)."""
    found = []
    limit = [x for name in report.hosts for x in ("--limit", name)]
    for role in ROLES.values():
        if not role.components or not report.hosts:
            continue
        cmd = [sys.executable, "-m", "pyinfra", inventory, role.deploy_file, "--dry", "--json", *limit,
               *(x for item in data or [] for x in ("--data", item)),
               *(x for path in group_data or [] for x in ("--group-data", path))]
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode:
            found.append(Check("drift.plan", role.deploy_file, "a dry run", proc.stderr.strip()[-500:], ERROR,
                               "run the dry run by hand", role.name))
            continue
        plan = json.loads(proc.stdout.strip().splitlines()[-1])["plan"]
        for host, op in changed_operations(plan):
            if host in report.hosts:
                found.append(Check("drift.operation", op, "no change", "would change", DRIFT,
                                   f"converge: pyinfra {inventory} {role.deploy_file}", host))
    return found
