"""Participants are hostile: each attack runs as a real student account on the backend, and
each is refused with nothing of another student, of root or of the api-db changed."""

import json
import shutil
import subprocess
import time

import pytest
import requests

from .conftest import MAIL_LOG, ROOT, S, pyinfra, timing

pytestmark = pytest.mark.integration
ME, OTHER, THIRD = 7, 8, 10  # the attacker's seat, a neighbour's (untouched), one the api-db acts on


@pytest.fixture
def untouched(backend):
    """The neighbour's home and password, root's mail-API log state: the same after the attack."""
    before = backend.home_digest(OTHER), backend.sh("getent shadow root").stdout
    yield
    assert (backend.home_digest(OTHER), backend.sh("getent shadow root").stdout) == before
    assert backend.sh("ls /tmp/pwned* 2>/dev/null || true").stdout == ""


def as_student(backend, command: str, stdin: str | None = None):
    return backend.sh(command, user=f"student{ME}", check=False, stdin=stdin)


def test_smtp_from_localhost_with_the_sender_copied_is_refused(backend, untouched):
    attack = ("import smtplib\n"
              f"with smtplib.SMTP('127.0.0.1', {S.POSTPORT}, timeout=20) as s:\n"
              "    try:\n"
              f"        s.sendmail('{S.WODSENDER}', ['{S.WODUSER}@localhost'], 'Subject: PURGE {OTHER} 1\\n\\nx')\n"
              "        print('accepted')\n"
              "    except smtplib.SMTPRecipientsRefused as e:\n"
              "        print('refused', e.recipients)\n")
    out = as_student(backend, "python3 -", stdin=attack).stdout
    assert "refused" in out and "Client host rejected" in out, out


def test_local_submission_is_closed_to_students(backend, untouched):
    proc = as_student(backend, f"printf 'Subject: PURGE {OTHER} 1\\n\\nx\\n' | /usr/sbin/sendmail -f {S.WODSENDER} "
                               f"{S.WODUSER}")
    assert proc.returncode != 0 and "not allowed" in (proc.stdout + proc.stderr).lower(), proc.stderr


def test_the_admin_tools_and_the_handler_socket_are_not_a_students(backend, untouched):
    assert as_student(backend, f"wod-test-action PURGE WKSHP-Test101 {OTHER}").returncode != 0
    assert as_student(backend, f"cat {S.etc_dir}/mailapi.json").returncode != 0
    poke = (f"import socket; s = socket.socket(socket.AF_UNIX); s.connect('{S.mail_socket}'); "
            f"s.sendall(b'Subject: PURGE {OTHER} 1\\n\\n'); s.shutdown(1); print(s.recv(100))")
    assert "Permission denied" in as_student(backend, f"python3 -c \"{poke}\"").stderr


def test_a_fifo_and_a_symlink_in_the_home_do_not_hang_or_leak_through_cleanup(backend, untouched):
    assert backend.act(f"CREATE {ME} 31")["outcome"] == "done"
    ws = f"{S.STUDDIR}/student{ME}/WKSHP-Test101"
    as_student(backend, f"mkfifo {ws}/x.ipynb && ln -s /etc/shadow {ws}/y.ipynb")
    start = time.monotonic()
    event = backend.act(f"CLEANUP {ME} 31")
    assert event["outcome"] == "done" and event["completion"] == 0, event
    assert time.monotonic() - start < 60


def test_a_template_payload_cannot_run_code_as_root(backend, untouched, tmp_path):
    catalogue = tmp_path / "workshops"
    shutil.copytree(ROOT / "tests/fixtures/workshops", catalogue)
    evil = catalogue / "WKSHP-Evil101"
    shutil.copytree(catalogue / "WKSHP-Test101", evil)
    payload = "{{ cycler.__init__.__globals__.os.system('touch /tmp/pwned-template') }}"
    (evil / "0-ReadMeFirst.ipynb").write_text(json.dumps({"cells": [], "metadata": {"x": payload}}))
    pyinfra("--data", f"WODNOBO={catalogue}")
    try:
        event = backend.act(f"CREATE {ME} 32", body="WKSHP-Evil101\n")
        assert event["outcome"] == "failed" and "SecurityError" in event["reason"], event
    finally:
        pyinfra()


def test_after_cleanup_nothing_of_the_participant_is_left(backend, untouched):
    """A token they minted, a crontab, a forking process, a file in /tmp, a shared memory segment."""
    user, n = f"student{ME}", ME
    assert backend.act(f"CREATE {n} 33")["outcome"] == "done"
    token = backend.mint_token(backend.browser(user, backend.password(n)), user)
    assert requests.get(f"{backend.hub}/hub/api/user", headers={"Authorization": f"token {token}"},
                        timeout=10).status_code == 200
    as_student(backend, "echo '* * * * * touch /tmp/still-here' | crontab -")
    as_student(backend, "nohup sh -c 'while :; do sleep 1 & wait; done' >/dev/null 2>&1 &")
    as_student(backend, "touch /tmp/mine /dev/shm/mine && python3 -c \"import os\"")
    assert backend.sh(f"pgrep -u {user}", check=False).returncode == 0

    assert backend.act(f"CLEANUP {n} 33")["outcome"] == "done"
    assert requests.get(f"{backend.hub}/hub/api/user", headers={"Authorization": f"token {token}"},
                        timeout=10).status_code == 403
    assert backend.sh(f"crontab -l -u {user}", check=False).returncode != 0
    assert backend.sh(f"pgrep -u {user}", check=False).returncode != 0
    assert backend.sh(f"find /tmp /dev/shm -user {user}").stdout == ""
    assert json.loads(backend.lines(MAIL_LOG)[-1])["outcome"] == "done"
    # and the slot works for the next participant: a CREATE, then a login with the new password
    assert backend.act(f"CREATE {n} 34")["outcome"] == "done"
    assert backend.login(user, backend.password(n)).status_code == 302
    backend.act(f"PURGE {n} 34", body="")


def terminal_output(term, until: str, timeout: float = 30) -> str:
    seen, deadline = "", time.monotonic() + timeout
    while until not in seen:
        assert time.monotonic() < deadline, f"no {until!r} in the terminal: {seen[-500:]!r}"
        kind, *data = json.loads(term.recv())
        seen += "".join(str(d) for d in data) if kind == "stdout" else ""
    return seen


def test_a_fork_bomb_in_the_hub_terminal_leaves_others_a_server_within_30s(backend, untouched):
    bomber, other = ME, 9
    user = f"student{bomber}"
    assert backend.act(f"CREATE {bomber} 35")["outcome"] == "done"
    term = backend.terminal(user, backend.mint_token(backend.browser(user, backend.password(bomber)), user))
    try:
        term.send(json.dumps(["stdin", "echo limits $(ulimit -u) $(ulimit -v) $(ulimit -H -u)\r"]))
        assert f"limits {S.STUDENT_TASKS} {S.STUDENT_MEMORY * 1024} {S.STUDENT_TASKS}" in terminal_output(
            term, f"limits {S.STUDENT_TASKS} ")
        term.send(json.dumps(["stdin", "bomb() { bomb | bomb & }; bomb\r"]))
        deadline = time.monotonic() + 30
        while int(backend.sh(f"pgrep -c -u {user} || true").stdout) < S.STUDENT_TASKS // 2:
            assert time.monotonic() < deadline, "the fork bomb did not go off"
            time.sleep(0.5)

        start = time.monotonic()  # the api-db's CREATE (which starts the server), then the login
        assert backend.act(f"CREATE {other} 36")["outcome"] == "done"
        backend.browser(f"student{other}", backend.password(other), timeout=30)
        elapsed = time.monotonic() - start
        tasks = int(backend.sh(f"ps -L -u {user} --no-headers | wc -l").stdout)
        timing(f"CREATE to a ready server for another participant during a fork bomb of {tasks} tasks", elapsed)
        assert elapsed < 30
        assert S.STUDENT_TASKS // 2 <= tasks <= S.STUDENT_TASKS, f"{user} runs {tasks} tasks (limit {S.STUDENT_TASKS})"
    finally:
        term.close()
        assert backend.act(f"CLEANUP {bomber} 35")["outcome"] == "done"
        assert backend.sh(f"pgrep -u {user}", check=False).returncode != 0, "the fork bomb survived CLEANUP"
        backend.act(f"PURGE {other} 36", body="")


GRAB = """
import socket, sys, time
port, home = int(sys.argv[1]), sys.argv[2]
while True:  # the moment the port is free, take it
    try:
        server = socket.create_server(("127.0.0.1", port))
        break
    except OSError:
        time.sleep(0.005)
open(f"{home}/listening", "w").close()
while True:
    conn, _ = server.accept()
    conn.settimeout(5)
    with open(f"{home}/caught", "ab") as caught:
        try:
            caught.write(conn.recv(65536))
        except OSError:
            pass
    conn.close()
"""


@pytest.fixture
def grabber(backend):
    """A participant's program that binds a port the moment it is free and keeps what it is sent."""
    home = f"{S.STUDDIR}/student{ME}"
    as_student(backend, f"rm -f {home}/listening {home}/caught; cat > {home}/grab.py", stdin=GRAB)

    def start(port: int) -> None:
        as_student(backend, f"nohup python3 {home}/grab.py {port} {home} >/dev/null 2>&1 &")

    def listening(timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while backend.sh(f"test -e {home}/listening", check=False).returncode:
            assert time.monotonic() < deadline, "the participant never got the port"
            time.sleep(0.2)
        return home

    yield start, listening
    backend.sh(f"pkill -u student{ME} -f '[g]rab.py'; rm -f {home}/grab.py {home}/listening {home}/caught",
               check=False)
    backend.sh("systemctl start jupyterhub")
    backend.wait_for_hub(timeout=120)


def test_no_participant_can_take_a_port_of_the_hubs_while_it_restarts(backend, untouched):
    """The hub's API, the proxy's API and the proxy's own port are privileged: with the hub
    stopped, a participant's bind on any of them is refused (on main: 8081 kept the hub down)."""
    ports = (S.hub_api_port, S.proxy_api_port, S.proxy_port)
    probe = ("import socket, sys\nfor port in map(int, sys.argv[1:]):\n    try:\n"
             "        socket.create_server(('127.0.0.1', port)); print(port, 'bound')\n"
             "    except PermissionError:\n        print(port, 'refused')\n")
    backend.sh("systemctl stop jupyterhub")
    try:
        seen = as_student(backend, f"python3 - {' '.join(map(str, ports))}", stdin=probe).stdout.split("\n")
    finally:
        backend.sh("systemctl start jupyterhub")
        backend.wait_for_hub(timeout=120)
    assert seen[:3] == [f"{port} refused" for port in ports], seen
    assert all(port < 1024 for port in ports)


def test_a_participant_on_the_public_port_serves_no_one(backend, untouched, grabber):
    """A participant binds WODBEPORT and the proxy dies (the hub starts it again), then the hub
    restarts: every browser still reaches the real hub, and the participant receives nothing."""
    start, listening = grabber
    start(S.WODBEPORT)
    home = listening()
    backend.sh("pkill -KILL -f '[c]onfigurable-http-proxy'")
    backend.wait_for_hub(timeout=120)
    backend.sh("systemctl restart jupyterhub")
    backend.wait_for_hub(timeout=120)
    backend.open_login(f"student{THIRD}", "Known-pw-8")
    try:
        assert backend.login(f"student{THIRD}", "Known-pw-8").status_code == 302
        inside = as_student(backend, "curl -s -o /dev/null -w '%{http_code}' "
                                     f"http://127.0.0.1:{S.WODBEPORT}/hub/login")
        assert inside.stdout == "200", inside
    finally:
        backend.sh(f"usermod -p '!' --expiredate 1 student{THIRD}")
    assert backend.sh(f"cat {home}/caught 2>/dev/null || true").stdout == ""


def test_a_participant_holding_the_proxy_port_gets_no_token(backend, untouched, grabber):
    """The proxy restarts; a participant binds the public port first: the handler never goes there."""
    start, listening = grabber
    start(S.WODBEPORT)
    backend.sh("pkill -KILL -f '[c]onfigurable-http-proxy'")
    home = listening()
    assert backend.act(f"CLEANUP {THIRD} 38")["outcome"] == "done"
    assert "token" not in backend.sh(f"cat {home}/caught 2>/dev/null || true").stdout


def test_pyinfra_uploads_do_not_pass_through_a_students_planted_path(backend, untouched, tmp_path):
    """Where pyinfra stages uploads by default (/tmp/pyinfra-<sha1 of the destination>), a
    participant plants files; a converge that ships the workshops again never touches them."""
    import hashlib

    plants = [f"/tmp/pyinfra-{hashlib.sha1(dest.encode()).hexdigest()}"
              for dest in (f"{S.workshops_dir}.tar", f"{S.etc_dir}/apidb.secret")]
    as_student(backend, " && ".join(f"install -m 0666 /dev/null {p}" for p in plants))
    assert as_student(backend, f"touch {S.staging_dir}/x").returncode != 0
    catalogue = tmp_path / "workshops"
    shutil.copytree(ROOT / "tests/fixtures/workshops", catalogue)
    (catalogue / "WKSHP-Test101" / "added.md").write_text("a new page\n")
    try:
        results, _, _ = pyinfra("--data", f"WODNOBO={catalogue}")
        assert results["results"]["failed_hosts"] == []
        assert backend.sh(f"cat {S.workshops_dir}/WKSHP-Test101/added.md").stdout == "a new page\n"
        for plant in plants:
            assert backend.sh(f"stat -c '%s %U' {plant}").stdout.split() == ["0", f"student{ME}"]
    finally:
        backend.sh(f"rm -f {' '.join(plants)}")
        pyinfra()


def test_the_mail_pipeline_runs_as_an_account_without_sudo(backend):
    assert "not allowed to run sudo" in backend.sh(f"sudo -l -U {S.mail_user}").stdout
    assert backend.sh(f"getent passwd {S.mail_user}").stdout.strip().endswith(":/usr/sbin/nologin")
    assert backend.act(f"CREATE {ME} 39")["outcome"] == "done"
    assert backend.sh(f"stat -c %U {S.mail_home}/.mail/procmail.log").stdout.strip() == S.mail_user
    backend.act(f"PURGE {ME} 39", body="")


SPY = r"""
import glob, json, os, subprocess, sys, time
studdir, seconds = sys.argv[1], float(sys.argv[2])
# CPU for everyone else (root's work on a home included) slowed, as a participant can
burners = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(6)]
named, fds, deadline = set(), {}, time.monotonic() + seconds
while time.monotonic() < deadline:
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            argv = open(cmdline, "rb").read().decode(errors="replace").split("\0")
        except OSError:
            continue
        named.update(a for a in argv if a.startswith(studdir + "/."))
    for path in named:
        for p in (path, path + "/WKSHP-Test101"):
            if p not in fds:
                try:
                    fds[p] = os.open(p, os.O_RDONLY | os.O_DIRECTORY)
                except OSError:
                    pass
for b in burners:
    b.kill()
read = {}
for path, fd in fds.items():  # what a descriptor kept from the first instant gives later
    for name in os.listdir(fd):
        try:
            with open(os.open(name, os.O_RDONLY, dir_fd=fd), errors="replace") as f:
                read[f"{path}/{name}"] = f.read()
        except OSError:
            pass
print(json.dumps({"named": sorted(named), "opened": sorted(fds), "read": read}))
"""


def test_another_participant_sees_nothing_of_a_home_being_built(backend, untouched):
    """A participant polls /proc for a path under STUDDIR on root's command lines (with CPU
    burners slowing root down), opens whatever it finds and keeps the descriptor: three CREATEs
    of a neighbour's seat later, nothing was named, nothing opened, nothing read."""
    victim, home = THIRD, f"{S.STUDDIR}/student{ME}"
    as_student(backend, f"cat > {home}/spy.py", stdin=SPY)
    spy = subprocess.Popen(["docker", "exec", "-u", f"student{ME}", backend.host.container, "python3",
                            f"{home}/spy.py", S.STUDDIR, "45"], stdout=subprocess.PIPE, text=True)
    try:
        passwords = []
        for custid in (41, 42, 43):
            assert backend.act(f"CREATE {victim} {custid}")["outcome"] == "done"
            passwords.append(backend.password(victim))
        seen = json.loads(spy.communicate(timeout=120)[0])
    finally:
        spy.kill()
        backend.act(f"PURGE {victim} 43", body="")
    leaked = [path for path, text in seen["read"].items() if any(p in text for p in passwords)]
    assert (seen["named"], seen["opened"], leaked) == ([], [], []), seen


def test_a_key_planted_during_a_slot_logs_in_no_more_once_it_is_cleaned_up(backend, untouched):
    """A workshop that resets keeps the home (the planted key with it) until RESET: the account
    itself is closed at CLEANUP, for SSH, for the hub and for su alike."""
    user = f"student{ME}"
    assert backend.act(f"CREATE {ME} 44", body="WKSHP-Reset101\n")["outcome"] == "done"
    backend.plant_key(user)
    assert backend.ssh_login(user), "the planted key does not log in during the slot: the test proves nothing"
    event = backend.act(f"CLEANUP {ME} 44", body="WKSHP-Reset101\n")
    assert event["outcome"] == "done", event
    assert backend.sh(f"test -s {S.STUDDIR}/{user}/.ssh/authorized_keys", check=False).returncode == 0
    assert not backend.ssh_login(user)
    backend.sh("chpasswd", stdin=f"{user}:Known-pw-7\n")  # whatever the password, no way in
    assert backend.login(user, "Known-pw-7").status_code == 403 and not backend.ssh_login(user)
    backend.act(f"PURGE {ME} 44", body="")
    assert not backend.ssh_login(user)
    assert backend.act(f"CREATE {ME} 45")["outcome"] == "done"  # the next participant's slot opens it
    assert backend.login(user, backend.password(ME)).status_code == 302
    backend.act(f"PURGE {ME} 45", body="")


def test_a_notebook_that_breaks_the_parser_does_not_stop_cleanup(backend, untouched):
    """A notebook nested 200000 deep (RecursionError in json) and one of 20 MB: completion is 0,
    the reason logged, and the home is erased (a key planted in it with it)."""
    user = f"student{ME}"
    assert backend.act(f"CREATE {ME} 46")["outcome"] == "done"
    ws = f"{S.STUDDIR}/{user}/WKSHP-Test101"
    as_student(backend, f"python3 -c \"print('[' * 200000)\" > {ws}/deep.ipynb && "
                        f"head -c 20000000 /dev/zero | tr '\\0' ' ' > {ws}/huge.ipynb")
    backend.plant_key(user)
    event = backend.act(f"CLEANUP {ME} 46")
    assert event["outcome"] == "done" and event["completion"] == 0, event
    assert backend.sh(f"ls -A {S.STUDDIR}/{user}").stdout.split() == backend.sh("ls -A /etc/skel").stdout.split()
    assert not backend.ssh_login(user)
    backend.act(f"PURGE {ME} 46", body="")


WIDE = "import sys, time; time.sleep(120)"


def test_a_participants_long_command_lines_cost_the_watchdog_no_memory(backend, untouched):
    """Four processes of a participant, each with 150000 arguments on its command line of short arguments: one
    sample of every process by the watchdog's own code keeps and peaks at what it did without."""
    def sampled() -> tuple[int, int]:
        probe = (f"import sys, tracemalloc; sys.path.insert(0, '{S.lib_dir}'); from wod_runtime import watchdog; "
                 "tracemalloc.start(); kept = watchdog.sample(); print(*tracemalloc.get_traced_memory())")
        return tuple(int(x) for x in backend.sh(f"python3 -I -c \"{probe}\"").stdout.split())

    kept_before, peak_before = sampled()
    as_student(backend, f"for i in 1 2 3 4; do nohup python3 -c '{WIDE}' $(seq 1 150000 | sed 's/.*/x/') "
                        ">/dev/null 2>&1 & done; sleep 1")
    try:
        assert int(backend.sh(f"pgrep -c -u student{ME} python3").stdout) == 4
        kept, peak = sampled()
    finally:
        backend.sh(f"pkill -u student{ME} python3", check=False)
    assert kept < kept_before + 256 * 1024 and peak < peak_before + 1024 * 1024, (kept_before, kept, peak)
