"""Reports, exit codes and checks computed from canned facts."""

import json
import socket
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from facts.students import StudentAccounts
from wod_deploy.checks import DRIFT, ERROR, PASS, Check, expect
from wod_deploy.compliance import reporters
from wod_deploy.compliance.model import Report
from wod_deploy.components import students
from wod_deploy.settings import Settings

from .conftest import recorded

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "wod_deploy/schemas/check-report.schema.json").read_text())


def report(*statuses) -> Report:
    return Report([Check(f"x.c{i}", f"r{i}", "a", "a" if s == PASS else "b", s, "hint", "hub-1")
                   for i, s in enumerate(statuses)], inventory="inv.py", hosts=("hub-1",))


@pytest.mark.parametrize("statuses,code", [((PASS, PASS), 0), ((PASS, DRIFT), 2), ((DRIFT, ERROR), 1), ((), 0)])
def test_exit_code_error_wins_over_drift(statuses, code):
    assert report(*statuses).exit_code == code


def test_json_validates_against_the_schema_and_lists_failures_first():
    data = reporters.to_json(report(PASS, DRIFT, ERROR))
    jsonschema.validate(data, SCHEMA)
    assert [c["status"] for c in data["checks"]] == [ERROR, DRIFT, PASS]
    assert data["summary"] == {"pass": 1, "drift": 1, "error": 1}


def test_junit_has_one_case_per_check():
    xml = ET.fromstring(reporters.to_junit(report(PASS, DRIFT, ERROR)))
    cases = xml.findall(".//testcase")
    assert len(cases) == 3
    assert len(xml.findall(".//failure")) == 1 and len(xml.findall(".//error")) == 1


def test_table_shows_expected_and_actual_of_failures():
    text = reporters.table(report(PASS, DRIFT))
    assert "DRIFT  hub-1  x.c1  r1" in text and "expected: a" in text and "actual:   b" in text
    assert "x.c0" not in text  # passes are counted, not listed
    assert "1 passed, 1 drifted, 0 errors" in text


def test_expect_shows_absent_for_none():
    assert expect("a.b", "r", "x", None).actual == "absent"


def test_student_checks_from_recorded_fact():
    fact = StudentAccounts().process(recorded("StudentAccounts/in-place"))
    fact["users"]["student27"] = {"uid": 2027, "gid": 2027, "home": "/student/student27", "shell": "/bin/bash"}
    facts = {"StudentAccounts": fact, "WritablePaths": []}
    checks = list(students.checks(Settings(USERMIN=1, USERMAX=21), lambda cls, **kw: facts[cls.__name__]))
    by = {(c.id, c.resource): c for c in checks}
    assert by[("students.base", "/student")].status == PASS
    assert by[("students.account", "student1")].status == PASS
    assert by[("students.account", "student21")].actual == "absent"
    assert by[("students.stray", "student accounts outside 1..21")].actual == "student27"


def test_unreachable_host_is_an_error_never_compliant(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inv = tmp_path / "inv.py"
    inv.write_text(f'backend = [("gone", {{"ssh_hostname": "127.0.0.1", "ssh_port": {port}, '
                   f'"ssh_connect_retries": 0}})]\n')
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "wod_deploy.cli", "check", str(inv), "--json", str(out),
                           "--junit", str(tmp_path / "r.xml")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["status"] == "error"
    assert [(c["host"], c["id"], c["status"]) for c in data["checks"]] == [("gone", "host.reachable", "error")]
    assert "ERROR  gone  host.reachable" in proc.stdout


def test_every_components_check_ids_fit_the_report_schema():
    """A check id is `<component>.<kind>`: each role component's name must fit the schema's pattern."""
    import re

    from wod_deploy.roles import ROLES

    pattern = re.compile(SCHEMA["properties"]["checks"]["items"]["properties"]["id"]["pattern"])
    for role in ROLES.values():
        for component in role.components:
            name = component.__name__.rsplit(".", 1)[-1]
            for kind in ("file", "directory", "secret", "service", "probe"):
                assert pattern.match(f"{name}.{kind}"), f"{name}.{kind}"


def test_a_fact_two_checks_of_one_host_ask_for_is_read_once():
    from types import SimpleNamespace

    from facts.system import Container
    from wod_deploy.compliance.runner import Probe

    commands = []

    def run_shell_command(command, _sudo):
        commands.append(command)
        return True, SimpleNamespace(stdout_lines=["docker"], stderr_lines=[])

    probe = Probe(SimpleNamespace(run_shell_command=run_shell_command))
    assert probe(Container) == probe(Container) == "docker"  # system's sysctl check, and its clock service
    assert len(commands) == 1
