"""Cost at scale: round trips of a no-change students run, and a check with 2000 students."""

import re
import subprocess
import sys
import time

import pytest

from .conftest import NAME, ROOT, changed, pyinfra, timing

pytestmark = pytest.mark.integration
DEPLOY = "tests/integration/deploys/students_only.py"


def no_change_round_trips(usermax: int) -> int:
    results, stderr, seconds = pyinfra("--data", f"USERMAX={usermax}", deploy=DEPLOY, count=True)
    assert changed(results) == [], f"USERMAX={usermax}: not a no-change run"
    timing(f"no-change students component, USERMAX={usermax}", seconds)
    return int(stderr.strip().splitlines()[-1].split(": ")[1])


def converge_students(usermax: int, deploy: str = DEPLOY) -> None:
    results, _, seconds = pyinfra("--data", f"USERMAX={usermax}", deploy=deploy)
    assert results["results"]["failed_hosts"] == []
    timing(f"{deploy} converging to USERMAX={usermax}", seconds)


def back_to_defaults(backend, deploy: str = DEPLOY) -> None:
    converge_students(20, deploy)  # removes the accounts beyond 20 (their homes stay: data is never lost)
    backend.sh("find /student -mindepth 1 -maxdepth 1 -name 'student*' "
               "| awk -F/student/student '$2 > 20' | xargs -r rm -rf")


def test_students_round_trips_do_not_grow_from_20_to_200(backend):
    at_20 = no_change_round_trips(20)
    converge_students(200)
    try:
        at_200 = no_change_round_trips(200)
    finally:
        back_to_defaults(backend)
    assert at_200 == at_20, (at_20, at_200)
    assert at_20 <= 3  # one fact read for all students: nothing per student


def test_check_with_2000_students_takes_seconds(backend):
    converge_students(2000, "deploys/backend.py")  # the hub's allowed users follow USERMAX too
    try:
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "wod_deploy.cli", "check", "inventories/docker.py",
                               "--limit", NAME, "--data", "USERMAX=2000"],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        seconds = time.monotonic() - start
    finally:
        back_to_defaults(backend, "deploys/backend.py")
    timing("wod-deploy check, USERMAX=2000", seconds)
    assert proc.returncode == 0, proc.stdout[-3000:]
    summary = re.search(r"(\d+) passed, 0 drifted, 0 errors", proc.stdout)
    assert summary and int(summary.group(1)) > 2000, proc.stdout[-500:]
    assert seconds < 15, f"check took {seconds:.1f}s"
