"""Run each role's component checks on each selected host of an inventory, read-only.

Probes run the facts' own commands, through sudo, and parse them with the facts' own `process`.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any, Callable, Iterable

from .. import ssh
from ..checks import ERROR, Check
from ..inventory import loaded, selected
from ..roles import ROLES
from ..settings import SettingsError, load_settings
from .model import Report


class ProbeError(RuntimeError):
    pass


class Probe:
    """Reads facts from one connected host, each fact one remote command, through sudo; a fact
    asked again with the same arguments (by two checks of one host) is not read twice."""

    def __init__(self, host):
        self.host = host
        self.read: dict[tuple, Any] = {}

    def __call__(self, fact_cls, _sudo: bool = True, **kwargs):
        key = (fact_cls, _sudo, json.dumps(kwargs, sort_keys=True, default=str))
        if key not in self.read:
            self.read[key] = self._read(fact_cls, _sudo, **kwargs)
        return self.read[key]

    def _read(self, fact_cls, _sudo: bool, **kwargs):
        fact = fact_cls()
        ok, output = self.host.run_shell_command(fact.command(**kwargs), _sudo=_sudo)
        if not ok:
            raise ProbeError(f"{fact_cls.__module__}.{fact_cls.__name__} failed: "
                             + " ".join(output.stderr_lines)[-500:])
        lines = output.stdout_lines
        return fact.process(lines) if lines else fact.default()


CheckFn = Callable[[Any, Probe], Iterable[Check]]


def role_checks(host) -> list[CheckFn]:
    """The checks of every role the host's groups name, in the roles' component order."""
    return [c.checks for group in host.groups if group in ROLES for c in ROLES[group].components]


def check_host(host, check_fns: list[CheckFn], inventory=None) -> list[Check]:
    """All checks of one host; a host that cannot be reached or read gives error checks."""

    def error(id: str, resource: str, message: str, hint: str) -> list[Check]:
        return [Check(id, resource, "checkable", message, ERROR, hint, host.name)]

    try:
        settings = load_settings(host.data, host=host.name, inventory=inventory)
    except SettingsError as exc:
        return error("host.settings", "host data", str(exc), "fix group_data/ or the inventory")
    try:
        host.connect(raise_exceptions=True, show_errors=False)
    except Exception as exc:  # any connector failure: the host is not checked
        return error("host.reachable", f"ssh {host.name}", f"unreachable: {exc}",
                     "check the host is up and the SSH settings in the inventory")
    ssh.no_delay(host)
    probe = Probe(host)
    checks: list[Check] = []
    for fn in check_fns:
        component = fn.__module__.rsplit(".", 1)[-1]
        try:
            checks += [replace(c, host=host.name) for c in fn(settings, probe)]
        except Exception as exc:
            checks += error(f"{component}.probe", fn.__module__, f"{exc}",
                            "the probe failed; run it by hand with pyinfra ... fact")
    return checks


def check_inventory(inventory_path: str, limit: Iterable[str] | None = None,
                    override_data: dict | None = None, group_data: list[str] | None = None) -> Report:
    """Check every selected host of an inventory file (run from the project root)."""
    start = time.monotonic()
    checks: list[Check] = []
    unchecked = []
    with loaded(inventory_path, override_data, group_data) as inv:
        hosts = [host for host in inv.inventory if selected(host, limit)]
        try:
            for host in hosts:
                fns = role_checks(host)
                if not fns:
                    unchecked.append(host.name)
                    continue
                checks += check_host(host, fns, inv.inventory)
        finally:
            for host in inv.inventory:
                if host.connected:
                    host.disconnect()
    return Report(checks, inventory=inventory_path, seconds=time.monotonic() - start,
                  unchecked=tuple(unchecked), hosts=tuple(h.name for h in hosts))
