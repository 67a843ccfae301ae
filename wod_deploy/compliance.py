"""Read-only compliance: run each component's checks on each host, report for people and CI.

A check compares what the settings declare with what a fact reads back. It never changes a
host: probes run the facts' own commands and parse them with the facts' own `process`.

Exit codes: 0 compliant, 2 drift, 1 could not check (unreachable host, bad settings, a probe
that failed). An error is never counted as compliant, and it wins over drift.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Iterable, Iterator
from xml.etree import ElementTree as ET

PASS, DRIFT, ERROR = "pass", "drift", "error"
CONVERGE = "converge: pyinfra INVENTORY deploys/backend.py"  # the usual fix
EXIT = {PASS: 0, DRIFT: 2, ERROR: 1}
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Check:
    id: str
    resource: str
    expected: str
    actual: str
    status: str
    hint: str = ""
    host: str = ""


def expect(id: str, resource: str, expected: Any, actual: Any, hint: str = CONVERGE) -> Check:
    """A check that passes when actual equals expected (both shown as text)."""
    status = PASS if actual == expected else DRIFT
    return Check(id, resource, _text(expected), _text(actual), status, hint)


def _text(value: Any) -> str:
    if value is None:
        return "absent"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def mode(value: int | None) -> str | None:
    return None if value is None else f"{value:04o}"


class ProbeError(RuntimeError):
    pass


class Probe:
    """Reads facts from one connected host, each fact one remote command, through sudo."""

    def __init__(self, host):
        self.host = host

    def __call__(self, fact_cls, **kwargs):
        fact = fact_cls()
        command = fact.command(**kwargs)
        ok, output = self.host.run_shell_command(command, _sudo=True)
        if not ok:
            raise ProbeError(f"{fact_cls.__module__}.{fact_cls.__name__} failed: "
                             + " ".join(output.stderr_lines)[-500:])
        lines = output.stdout_lines
        return fact.process(lines) if lines else fact.default()


# A role's checks: functions (settings, probe) -> iterable of Check.
CheckFn = Callable[[Any, Probe], Iterable[Check]]


def check_host(host, check_fns: list[CheckFn], inventory=None) -> list[Check]:
    """All checks of one host; a host that cannot be reached or read gives error checks."""
    from .settings import SettingsError, load_settings

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
    probe = Probe(host)
    checks: list[Check] = []
    for fn in check_fns:
        try:
            checks += [replace(c, host=host.name) for c in fn(settings, probe)]
        except Exception as exc:
            checks += error(f"{fn.__module__.rsplit('.', 1)[-1]}.probe", fn.__module__, f"{exc}",
                            "the probe failed; run it by hand with pyinfra ... fact")
    return checks


@dataclass
class Report:
    checks: list[Check]
    inventory: str = ""
    seconds: float = 0.0
    unchecked: tuple[str, ...] = ()  # hosts whose role has no checks yet
    hosts: tuple[str, ...] = ()  # every host selected

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.checks)

    @property
    def status(self) -> str:
        if self.count(ERROR):
            return ERROR
        return DRIFT if self.count(DRIFT) else PASS

    @property
    def exit_code(self) -> int:
        return EXIT[self.status]

    def sorted(self) -> list[Check]:
        order = {ERROR: 0, DRIFT: 1, PASS: 2}
        return sorted(self.checks, key=lambda c: (order[c.status], c.host, c.id, c.resource))

    def to_json(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "inventory": self.inventory,
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": round(self.seconds, 3),
            "status": self.status,
            "exit_code": self.exit_code,
            "summary": {s: self.count(s) for s in (PASS, DRIFT, ERROR)},
            "unchecked_hosts": list(self.unchecked),
            "checks": [asdict(c) for c in self.sorted()],
        }

    def to_junit(self) -> str:
        suites = ET.Element("testsuites", name="wod-deploy check")
        for host in sorted({c.host for c in self.checks}):
            mine = [c for c in self.sorted() if c.host == host]
            suite = ET.SubElement(suites, "testsuite", name=host, tests=str(len(mine)),
                                  failures=str(sum(c.status == DRIFT for c in mine)),
                                  errors=str(sum(c.status == ERROR for c in mine)))
            for c in mine:
                case = ET.SubElement(suite, "testcase", classname=f"{host}.{c.id}", name=c.resource)
                if c.status != PASS:
                    tag = "failure" if c.status == DRIFT else "error"
                    detail = ET.SubElement(case, tag, message=f"expected {c.expected}, actual {c.actual}")
                    detail.text = f"expected: {c.expected}\nactual:   {c.actual}\nhint:     {c.hint}"
        return ET.tostring(suites, encoding="unicode", xml_declaration=True)

    def table(self, show_passed: bool = False) -> str:
        """Failures first; each with expected and actual on lines of their own."""
        rows = [c for c in self.sorted() if show_passed or c.status != PASS]
        lines = []
        for c in rows:
            lines.append(f"{c.status.upper():6} {c.host}  {c.id}  {c.resource}")
            if c.status != PASS:
                lines += [f"         expected: {c.expected}", f"         actual:   {c.actual}"]
                lines += [f"         hint:     {c.hint}"] if c.hint else []
        for host in self.unchecked:
            lines.append(f"note: {host}: no compliance checks for its role yet")
        lines.append(f"{self.count(PASS)} passed, {self.count(DRIFT)} drifted, {self.count(ERROR)} errors "
                     f"in {self.seconds:.1f}s: {self.status.upper()}")
        return "\n".join(lines)

    def write(self, json_file: str | None = None, junit_file: str | None = None) -> None:
        if json_file:
            with open(json_file, "w") as f:
                json.dump(self.to_json(), f, indent=2)
        if junit_file:
            with open(junit_file, "w") as f:
                f.write(self.to_junit())


def role_checks() -> dict[str, list[CheckFn]]:
    """Which checks apply to which inventory group."""
    from . import admin, baseline, jupyterhub, kernels, mailapi, security, students, system, workshops

    return {"backend": [baseline.checks, admin.checks, system.checks, students.checks, jupyterhub.checks,
                        kernels.checks, workshops.checks, mailapi.checks, security.checks]}


def _selected(host, limit: Iterable[str] | None) -> bool:
    from fnmatch import fnmatch

    if not limit:
        return True
    return any(pattern in host.groups or fnmatch(host.name, pattern) for pattern in limit)


def check_inventory(inventory_path: str, limit: Iterable[str] | None = None,
                    override_data: dict | None = None, group_data: list[str] | None = None) -> Report:
    """Check every selected host of an inventory file (run from the project root)."""
    from pyinfra.api import Config, State
    from pyinfra.context import ctx_config, ctx_inventory, ctx_state
    from pyinfra_cli.inventory import make_inventory

    start = time.monotonic()
    # the same sequence as the pyinfra CLI, so group_data/ layering is identical
    state, config = State(), Config()
    state.cwd = os.getcwd()
    with ctx_state.use(state), ctx_config.use(config):
        inventory = make_inventory(inventory_path, cwd=state.cwd, override_data=override_data or {},
                                   group_data_directories=group_data or [])
        state.init(inventory, config)
    with ctx_state.use(state), ctx_config.use(config), ctx_inventory.use(inventory):
        return _check_hosts(inventory, inventory_path, limit, start)


def _check_hosts(inventory, inventory_path, limit, start) -> Report:
    checks: list[Check] = []
    unchecked = []
    roles = role_checks()
    selected = [host for host in inventory if _selected(host, limit)]
    try:
        for host in selected:
            fns = [fn for group in host.groups for fn in roles.get(group, [])]
            if not fns:
                unchecked.append(host.name)
                continue
            checks += check_host(host, fns, inventory)
    finally:
        for host in inventory:
            if host.connected:
                host.disconnect()
    return Report(checks, inventory=inventory_path, seconds=time.monotonic() - start,
                  unchecked=tuple(unchecked), hosts=tuple(h.name for h in selected))


def changed_operations(plan: list[dict]) -> Iterator[tuple[str, str]]:
    """(host, operation) pairs that a `pyinfra --dry --json` plan would change."""
    for op in plan:
        for host in op.get("hosts_with_change", []):
            yield host, op["name"]
