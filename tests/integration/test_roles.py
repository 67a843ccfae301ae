"""The role guard: a role's deploy never touches a host of another role, even without --limit; and
upstream's api-db dialogue, byte for byte, from an api-db host."""

import subprocess

import pytest

from wod_deploy.testing import hosts

from .conftest import NAME, Backend, S, interrupted, pyinfra, timing, wod_deploy

pytestmark = pytest.mark.integration

# Everything a backend deploy would change on a host: packages, accounts, files, units.
STATE = ("{ dpkg-query -W -f '${Package} ${Version}\\n'; getent passwd; getent group; "
         "find /etc /opt /usr/local /var/lib /student -xdev -printf '%p %m %U %G %s %T@\\n' 2>/dev/null | sort; "
         "systemctl list-unit-files --no-legend; } | sha256sum")


# The api-db host here is a plain machine of its role, with no api-db running: the backend is
# told not to call it back (WODAPIDBURL would be derived from it; its PURGE would then wait for a
# `cleaned` that never comes)
APIDB_HTTP = ("--data", "WODAPIDBURL=")
APIDB: dict = {}


@pytest.fixture(scope="module")
def others(backend):
    """An api-db host and a portal host beside the backend: plain machines of their own roles."""
    made = [hosts.up(role=role, name=f"{NAME}-{role.replace('_', '-')}") for role in ("api_db", "frontend")]
    yield made
    for host in made:
        hosts.down(host.name)
    pyinfra()  # the backend no longer has api-db hosts to take mail from


def on(host, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", host.container, "sh", "-c", command], capture_output=True, text=True)


def test_a_whole_inventory_run_changes_only_the_hosts_of_its_roles(backend, others):
    """deploys/backend.py over an inventory with an api-db and a portal leaves both alone. (site.py
    on all three roles: tests/integration/test_platform.py.)"""
    plain = others
    every = ",".join([NAME, *(h.name for h in plain)])
    before = {h.name: on(h, STATE).stdout for h in plain}
    results, stderr, _ = pyinfra(*APIDB_HTTP, deploy="deploys/backend.py", limit=None,
                                 env={"WOD_HOSTS": every, **APIDB})
    assert results["results"]["failed_hosts"] == []
    touched = {h for op in results["results"]["operations"] for h in op["success"] + op["error"] + op["no_change"]}
    assert touched == {NAME}  # every operation ran on the backend alone
    for host in plain:
        assert f"[{host.name}]" in stderr  # it was in the run ...
        assert on(host, STATE).stdout == before[host.name]  # ... and nothing on it changed
        assert on(host, f"test -e {S.JPHUB} || getent passwd {S.WODUSER}").returncode != 0


# What upstream's modules/Email sendPostfixEmail writes, byte for byte, before the banner.
API_DB_DIALOGUE = ("HELO api-db.wod.test\nMAIL FROM: {sender}\nRCPT TO: {user}@{backend}\nDATA\n"
                   "Subject: CREATE {n} 77 someone@example.org\nWKSHP-Test101\n.\n")
# ... then it destroys the socket on the first data it receives.
SEND = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
s.sendall(sys.stdin.buffer.read())
print(s.recv(4096).decode().splitlines()[0])
s.close()
"""


def upstream_create(backend, api_db, n: int) -> dict:
    """Upstream's bytes from the api-db host to the backend's own address; the handler's outcome."""
    log = f"{S.log_dir}/mail-api.log"
    before = len(backend.lines(log))
    dialogue = API_DB_DIALOGUE.format(sender=S.WODSENDER, user=S.WODUSER, backend=f"{backend.host.name}.wod.test",
                                      n=n)
    sent = subprocess.run(["docker", "exec", "-i", api_db.container, "python3", "-c", SEND, backend.host.address,
                           str(S.POSTPORT)], input=dialogue, capture_output=True, text=True, timeout=60)
    assert sent.stdout.startswith("220 "), sent.stdout + sent.stderr
    return backend.next_event(before)


def test_the_upstream_api_db_dialogue_from_the_api_db_host_creates(backend, others):
    api_db = others[0]
    every = ",".join([NAME, *(h.name for h in others)])
    pyinfra(*APIDB_HTTP, limit=None, env={"WOD_HOSTS": every, **APIDB})  # the backend takes mail from its api-db host
    event = upstream_create(backend, api_db, 6)
    assert (event["action"], event["student"], event["outcome"]) == ("CREATE", "student6", "done"), event
    assert event["client"] == api_db.address  # authenticated as the api-db host postfix saw
    backend.act("PURGE 6 77", body="")


def test_the_same_on_a_debian_13_backend(backend, others):
    """Postfix 3.10 refuses pipelining before the banner and bare LF by default: not on POSTPORT.
    Its first converge is killed half-way and simply run again: the host ends compliant."""
    name = f"{NAME}-d13"
    host = hosts.up(role="backend", name=name, distro="debian-13")
    try:
        every = ",".join([name, *(h.name for h in others)])
        # its first converge is killed while apt installs (the controller gone, dpkg half-done), then run again
        interrupted(*APIDB_HTTP, when="Packages", kill=lambda proc: proc.kill(), limit=name,
                    env={"WOD_HOSTS": every, **APIDB},
                    delay=0.5)  # apt then installing
        results, _, seconds = pyinfra(*APIDB_HTTP, limit=name, env={"WOD_HOSTS": every, **APIDB})
        timing("first converge of deploys/backend.py on Debian 13, after one killed half-way", seconds)
        assert results["results"]["failed_hosts"] == []
        d13 = Backend(host=host, first_run=results, second_run={})
        assert d13.sh("postconf -h mail_version").stdout.startswith("3.10"), "not Debian 13's postfix"
        event = upstream_create(d13, others[0], 6)
        assert (event["student"], event["outcome"], event["client"]) == ("student6", "done", others[0].address), event
        check = wod_deploy("check", "inventories/docker.py", "--limit", name, *APIDB_HTTP,
                           env={"WOD_HOSTS": every, **APIDB})
        assert check.returncode == 0, check.stdout[-3000:]
    finally:
        hosts.down(name)
