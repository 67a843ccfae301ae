"""A report for people (a table, failures first) and for CI (JSON to a schema, JUnit XML)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from xml.etree import ElementTree as ET

from ..checks import DRIFT, ERROR, PASS
from .model import Report

SCHEMA_VERSION = 1


def to_json(report: Report) -> dict:
    """The document wod_deploy/schemas/check-report.schema.json describes."""
    return {
        "schema_version": SCHEMA_VERSION,
        "inventory": report.inventory,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(report.seconds, 3),
        "status": report.status,
        "exit_code": report.exit_code,
        "summary": {s: report.count(s) for s in (PASS, DRIFT, ERROR)},
        "unchecked_hosts": list(report.unchecked),
        "checks": [asdict(c) for c in report.sorted()],
    }


def to_junit(report: Report) -> str:
    """One test suite per host, one test case per check: drift is a failure, error an error."""
    suites = ET.Element("testsuites", name="wod-deploy check")
    for host in sorted({c.host for c in report.checks}):
        mine = [c for c in report.sorted() if c.host == host]
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


def table(report: Report, show_passed: bool = False) -> str:
    """Failures first; each with expected and actual on lines of their own."""
    lines = []
    for c in report.sorted():
        if c.status == PASS and not show_passed:
            continue
        lines.append(f"{c.status.upper():6} {c.host}  {c.id}  {c.resource}")
        if c.status != PASS:
            lines += [f"         expected: {c.expected}", f"         actual:   {c.actual}"]
            lines += [f"         hint:     {c.hint}"] if c.hint else []
    for host in report.unchecked:
        lines.append(f"note: {host}: no compliance checks for its role yet")
    lines.append(f"{report.count(PASS)} passed, {report.count(DRIFT)} drifted, {report.count(ERROR)} errors "
                 f"in {report.seconds:.1f}s: {report.status.upper()}")
    return "\n".join(lines)


def write(report: Report, json_file: str | None = None, junit_file: str | None = None) -> None:
    if json_file:
        with open(json_file, "w") as f:
            json.dump(to_json(report), f, indent=2)
    if junit_file:
        with open(junit_file, "w") as f:
            f.write(to_junit(report))
