"""Bad settings stop `pyinfra ... deploys/backend.py` before it connects to any host."""

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def listener():
    """A TCP port posing as SSH that counts the connections it gets."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


@pytest.fixture
def inventory(tmp_path, listener):
    port, _ = listener
    inv = tmp_path / "inv.py"
    inv.write_text(
        f'backend = [("hub-a", {{"ssh_hostname": "127.0.0.1", "ssh_port": {port}}}),\n'
        f'           ("hub-b", {{"ssh_hostname": "127.0.0.1", "ssh_port": {port}, "USERMAX": 50}})]\n'
    )
    return inv


def run_pyinfra(inventory, *data):
    args = [sys.executable, "-m", "pyinfra", str(inventory), "deploys/backend.py", "-y"]
    for item in data:
        args += ["--data", item]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)


CASES = [
    ("USERMAX=0", "USERMAX=0"),  # below USERMIN=1
    ("UIDBASE=10", "UIDBASE=10"),  # uids reaching below 1000
    ("POSTPORT=70000", "POSTPORT=70000"),
    ("JPHUB=opt/jupyterhub", "JPHUB='opt/jupyterhub'"),
    ("WODUSER=", "WODUSER="),
    ("USERMAXX=30", "USERMAXX=30"),  # near-miss of USERMAX
    ("WODAPIDBURL=http://api.example.org/api", "WODAPIDBURL='http://api.example.org/api'"),  # not https
    ("BASESTDID=0", "backends hub-a (ids 1..20) and hub-b (ids 1..50) overlap"),  # one range for both
    ("WODAPIDBEXTURL=api.example.org", "WODAPIDBEXTURL='api.example.org'"),  # neither a path nor a URL
    ("WODFEPORT=0", "WODFEPORT=0"),
]


@pytest.mark.parametrize("data,named", CASES, ids=[c[0] for c in CASES])
def test_bad_setting_fails_before_any_connection(inventory, listener, data, named):
    _, accepted = listener
    result = run_pyinfra(inventory, data)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert named in output, output
    assert "hub-a" in output and "Nothing was changed on any host" in output
    assert accepted == [], "pyinfra opened a connection despite invalid settings"


def test_control_valid_settings_do_connect(inventory, listener):
    """The listener does see pyinfra when settings are fine (so the test above can fail)."""
    _, accepted = listener
    result = run_pyinfra(inventory, "USERMAX=30")
    assert result.returncode == 1  # our fake port speaks no SSH
    assert len(accepted) >= 1


def test_a_portal_without_an_api_db_fails_before_any_connection(inventory, listener):
    _, accepted = listener
    inventory.write_text(inventory.read_text() + f'frontend = [("portal", {{"ssh_hostname": "127.0.0.1", '
                                                  f'"ssh_port": {listener[0]}}})]\n')
    result = run_pyinfra(inventory)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "portal: APIDB_UPSTREAM='': the portal needs an api-db" in output, output
    assert accepted == []
