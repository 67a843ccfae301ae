"""A throwaway Debian 12 backend, converged once per session over real SSH."""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from wod_deploy.testing import hosts

ROOT = Path(__file__).resolve().parents[2]
NAME = os.environ.get("WOD_TEST_HOST", "it-backend")  # a second checkout can use another
TIMINGS = ROOT / ".wod" / "timings.txt"


def timing(label: str, seconds: float) -> None:
    TIMINGS.parent.mkdir(exist_ok=True)
    with TIMINGS.open("a") as f:
        f.write(f"{time.strftime('%F %T')} {label}: {seconds:.1f}s\n")


def pyinfra(*args: str, deploy: str = "deploys/backend.py", count: bool = False, timeout: int = 1500):
    """Run pyinfra -y --json against the test host; returns (json results, stderr, seconds)."""
    runner = ["-m", "tests.integration.count_commands"] if count else ["-m", "pyinfra"]
    cmd = [sys.executable, *runner, "inventories/docker.py", deploy, "--limit", NAME, "-y", "--json", *args]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=timeout)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr, elapsed


def changed(results: dict) -> list[str]:
    """Names of the operations that changed something (Molecule's idempotence test)."""
    return [op["name"] for op in results["results"]["operations"] if op["success"]]


@dataclass
class Backend:
    host: hosts.TestHost
    first_run: dict
    second_run: dict

    @property
    def hub(self) -> str:
        return f"http://127.0.0.1:{self.host.ports['hub']}"

    def sh(self, command: str, user: str = "root", check: bool = True, stdin: str | None = None):
        proc = subprocess.run(["docker", "exec", "-i", "-u", user, self.host.container, "sh", "-c", command],
                              capture_output=True, text=True, input=stdin)
        if check:
            assert proc.returncode == 0, f"{command}: {proc.stderr}"
        return proc

    def token(self) -> str:
        return self.sh("cat /opt/jupyterhub/etc/jupyterhub/admintk.token").stdout.strip()

    def wait_for_hub(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return requests.get(f"{self.hub}/hub/api", timeout=5).json()
            except (requests.RequestException, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)


@pytest.fixture(scope="session")
def backend():
    os.chdir(ROOT)
    hosts.down(NAME)
    host = hosts.up(role="backend", name=NAME)
    first, _, first_s = pyinfra()
    timing("first converge of deploys/backend.py", first_s)
    second, _, second_s = pyinfra()
    timing("no-change converge of deploys/backend.py", second_s)
    yield Backend(host=host, first_run=first, second_run=second)
    if not os.environ.get("WOD_KEEP_HOSTS"):
        hosts.down(NAME)
