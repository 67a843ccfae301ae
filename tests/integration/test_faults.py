"""A converge interrupted anywhere (the controller killed, the SSH connection cut) is simply run
again: the second run ends compliant, and no participant's file is lost. (A first converge killed
half-way: tests/integration/test_roles.py, on its Debian 13 backend.) A backend rebooted in the
middle of a CREATE comes back with that home as it was or complete."""

import json
import signal
import subprocess
import time

import pytest

from wod_deploy.testing import hosts

from .conftest import MAIL_LOG, NAME, S, changed, interrupted, pyinfra, wod_deploy

pytestmark = pytest.mark.integration
SAMPLE = (1, 3, 20)  # students whose homes must come through byte for byte

# (case, the run's --data, the operation during which it is interrupted, how)
CASES = [
    ("controller-killed-while-adding-students", ("USERMAX=25",), "Students",
     lambda backend, proc: proc.kill()),
    ("ssh-cut-while-writing-the-mail-api", ("BRANDING=Interrupted Brand",), "Mail API",
     lambda backend, proc: backend.sh("pkill -KILL -f '^sshd: deployer'", check=False)),
    ("controller-stopped-while-the-hub-changes", ("STUDENT_TASKS=300",), "JupyterHub",
     lambda backend, proc: proc.send_signal(signal.SIGTERM)),
]


@pytest.mark.parametrize("case,data,when,kill", CASES, ids=[c[0] for c in CASES])
def test_an_interrupted_converge_is_run_again_and_ends_compliant(backend, case, data, when, kill):
    backend.sh("printf 'my notes\\n' > /student/student3/mine.txt && chown student3: /student/student3/mine.txt")
    homes = {n: backend.home_digest(n) for n in SAMPLE}
    args = [arg for item in data for arg in ("--data", item)]
    try:
        output = interrupted(*args, when=when, kill=lambda proc: kill(backend, proc))
        results, _, _ = pyinfra(*args)  # simply run again
        assert results["results"]["failed_hosts"] == [], output[-2000:]
        check = wod_deploy("check", "inventories/docker.py", "--limit", NAME, *args)
        assert check.returncode == 0, f"{case}:\n{check.stdout[-3000:]}"
        assert {n: backend.home_digest(n) for n in SAMPLE} == homes
        assert backend.sh("cat /student/student3/mine.txt").stdout == "my notes\n"
    finally:
        pyinfra()
        backend.sh(f"rm -f /student/student3/mine.txt; for i in $(seq 21 25); do rm -rf {S.STUDDIR}/student$i; done")


def test_a_backend_rebooted_mid_create_comes_back_with_the_home_as_it_was_or_complete(backend):
    n, home = 7, f"{S.STUDDIR}/student7"
    backend.sh(f"printf 'draft\\n' > {home}/draft.txt && chown student7: {home}/draft.txt")
    before = backend.home_digest(n)
    backend.sh("touch /tmp/wod-hook-wait")  # the post-copy hook waits: the new home in, the old one aside
    backend.send("CREATE 7 71")
    deadline = time.monotonic() + 90
    while backend.sh("test -e /tmp/wod-hook-waiting", check=False).returncode:
        assert time.monotonic() < deadline, "the CREATE never reached its post-copy hook"
        time.sleep(0.5)
    logged = len(backend.lines(MAIL_LOG))
    started = time.monotonic()
    subprocess.run(["docker", "restart", "--time", "0", backend.host.container], check=True, capture_output=True)
    backend.host = hosts.up(role="backend", name=NAME)  # the same container, its ports published anew
    backend.wait_for_hub(120)
    print(f"rebooted, hub answering after {time.monotonic() - started:.1f}s")

    notebook = f"{home}/WKSHP-Test101/0-ReadMeFirst.ipynb"
    complete = backend.sh(f"stat -c %U {notebook}", check=False).stdout.strip() == "student7"
    assert complete or backend.home_digest(n) == before, "the home is neither as it was nor complete"
    # the handler had taken the message from postfix (it answers once it holds the student's lock)
    # and kept it on disk: run again at boot by the callbacks timer, it waits for the hub and completes
    again = backend.next_event(logged, timeout=180)
    assert (again["action"], again["student"], again["outcome"]) == ("CREATE", "student7", "done"), again
    # Docker writes a new /etc/hosts at each container start (a machine keeps its own): the one
    # thing a converge after the reboot may put back
    results, _, _ = pyinfra()
    assert set(changed(results)) <= {"System | Lines in /etc/hosts"}, changed(results)
    check = wod_deploy("check", "inventories/docker.py", "--limit", NAME)
    assert check.returncode == 0, check.stdout[-3000:]

    # once postfix and the handler are idle, a PURGE: nothing a stopped rebuild left beside the
    # homes remains
    deadline = time.monotonic() + 120
    busy = "postqueue -p | grep -v '^Mail queue is empty'; pgrep -af '[m]ailapi.py'"  # ([m]: not this shell)
    while backend.sh(f"{{ {busy}; }} || true").stdout.strip():
        assert time.monotonic() < deadline, backend.sh(f"{{ {busy}; }} || true").stdout
        time.sleep(1)
    before_purge = len(backend.lines(MAIL_LOG))
    backend.send("PURGE 7 71", body="")
    deadline = time.monotonic() + 90
    while not any(json.loads(line).get("action") == "PURGE" for line in backend.lines(MAIL_LOG)[before_purge:]):
        assert time.monotonic() < deadline, "no PURGE logged"
        time.sleep(0.5)
    assert backend.sh(f"ls -A {S.STUDDIR} | grep '^[.]' || true").stdout == ""
