"""Round trips of a no-change students converge do not grow with the number of students."""

import pytest

from .conftest import changed, pyinfra, timing

pytestmark = pytest.mark.integration
DEPLOY = "tests/integration/deploys/students_only.py"


def no_change_round_trips(usermax: int) -> int:
    results, stderr, seconds = pyinfra("--data", f"USERMAX={usermax}", deploy=DEPLOY, count=True)
    assert changed(results) == [], f"USERMAX={usermax}: not a no-change run"
    timing(f"no-change students component, USERMAX={usermax}", seconds)
    return int(stderr.strip().splitlines()[-1].split(": ")[1])


def test_students_round_trips_do_not_grow_from_20_to_200(backend):
    _, _, seconds = pyinfra("--data", "USERMAX=200", deploy=DEPLOY)  # create 21..200
    timing("students component creating 21..200", seconds)
    at_200 = no_change_round_trips(200)
    at_20 = no_change_round_trips(20)
    assert at_200 == at_20, (at_20, at_200)
    assert at_20 <= 10  # connect, a few facts: no per-student anything
    backend.sh("for n in $(seq 21 200); do userdel -r student$n; done")
