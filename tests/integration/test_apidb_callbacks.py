"""The mail API with an api-db: a fake one on the backend's own loopback (tests/fake_apidb.py)."""

import json
import subprocess
import time

import pytest

from .conftest import MAIL_LOG, ROOT, S, pyinfra

pytestmark = pytest.mark.integration
PORT, CALLS = 18021, "/tmp/fake-apidb.calls"
SETTINGS = ("--data", f"WODAPIDBURL=http://127.0.0.1:{PORT}/api", "--data", "WODAPIDB_ALLOW_HTTP=True",
            "--data", "CLEANED_POLL=1",
            "--data", "CALLBACK_RETRY=3")


STOP = "pkill -f '[f]ake_apidb.py'"  # the brackets keep pkill from matching this very shell


def start_fake(backend, cleaned: str = "true") -> None:
    backend.sh(f"{STOP}; rm -f {CALLS}", check=False)
    # /tmp is a tmpfs in the throwaway hosts: docker cp cannot write there, a pipe can
    backend.sh("cat > /tmp/fake_apidb.py", stdin=(ROOT / "tests" / "fake_apidb.py").read_text())
    subprocess.run(["docker", "exec", "-d", backend.host.container, "python3", "/tmp/fake_apidb.py", str(PORT),
                    CALLS, cleaned], check=True)
    deadline = time.monotonic() + 15
    while backend.sh(f"python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {PORT}), 1)'",
                     check=False).returncode:
        assert time.monotonic() < deadline, "the fake api-db did not start"
        time.sleep(0.3)


def calls(backend) -> list:
    return [json.loads(line) for line in backend.lines(CALLS)]


@pytest.fixture(scope="module")
def with_apidb(backend):
    start_fake(backend)
    results, stderr, _ = pyinfra("--diff", *SETTINGS, env={"WOD_APIDB_PASSWORD": "moderator-pw"})
    assert results["results"]["failed_hosts"] == []
    assert "moderator-pw" not in stderr  # written by secret_put: --diff shows every file but this one
    yield
    backend.sh(STOP, check=False)
    pyinfra()  # back to a backend without api-db


def test_reset_of_a_range_polls_cleaned_and_frees_the_capacity(backend, with_apidb):
    for n in (1, 2, 3):
        assert backend.act(f"CREATE {n} 42", body="WKSHP-Reset101\n")["outcome"] == "done"
    start_fake(backend, cleaned="false,true")
    event = backend.act("RESET 1,3 42", body="WKSHP-Reset101\n")
    assert (event["outcome"], event["cleaned"]) == ("done", "cleaned"), event
    assert event["students"] == ["student1", "student2", "student3"]
    for n in (1, 2, 3):
        assert backend.sh(f"test -e {S.STUDDIR}/student{n}/WKSHP-Reset101", check=False).returncode != 0
    made = calls(backend)
    assert [c[1] for c in made if c[0] == "GET"] == ["/api/customers/42", "/api/customers/42", "/api/workshops"]
    puts = [(c[1], c[2]) for c in made if c[0] == "PUT"]
    assert puts[0] == ("/api/workshop/9", {"capacity": 3})
    assert [p for p, _ in puts[1:]] == ["/api/student/1", "/api/student/2", "/api/student/3"]
    assert all(c[2] == {"username": "moderator", "password": "moderator-pw"} for c in made if c[0] == "POST")


def test_with_the_api_db_down_cleanup_still_cleans_and_the_callbacks_land_once_later(backend, with_apidb):
    n, home = 4, f"{S.STUDDIR}/student4"
    assert backend.act(f"CREATE {n} 43")["outcome"] == "done"
    backend.sh(STOP)
    event = backend.act(f"CLEANUP {n} 43")
    assert event["outcome"] == "done" and event["callbacks"]["pending"] == 3, event
    assert not backend.server_ready(f"student{n}")
    assert backend.sh(f"test -e {home}/WKSHP-Test101", check=False).returncode != 0  # erased all the same
    start_fake(backend)
    deadline = time.monotonic() + 60
    while len([c for c in calls(backend) if c[0] == "PUT"]) < 3:
        assert time.monotonic() < deadline, f"the pending callbacks did not land: {calls(backend)}"
        time.sleep(1)
    time.sleep(8)  # two more timer rounds: nothing may land twice
    puts = [(c[1], c[2]) for c in calls(backend) if c[0] == "PUT"]
    assert [(path, {k: v for k, v in body.items() if k != "password"}) for path, body in puts] == [
        ("/api/customer/43", {"completionPercentage": 0}), ("/api/student/4", {"assigned": False}),
        ("/api/customer/43", {"cleaned": True})], puts  # in order, once each
    assert puts[1][1]["password"]  # the new password, as upstream's CLEANUP reports it
    flushed = [json.loads(line) for line in backend.lines(MAIL_LOG) if '"FLUSH"' in line]
    assert flushed and flushed[-1]["callbacks"]["landed"] >= 3
