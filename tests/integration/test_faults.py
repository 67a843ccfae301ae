"""A converge interrupted anywhere (the controller killed, the SSH connection cut) is simply run
again: the second run ends compliant, and no participant's file is lost. (A first converge killed
half-way: tests/integration/test_roles.py, on its Debian 13 backend.)"""

import signal

import pytest

from .conftest import NAME, S, interrupted, pyinfra, wod_deploy

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
