"""Participants are hostile: each attack runs as a real student account on the backend, and
each is refused with nothing of another student, of root or of the api-db changed."""

import json
import shutil
import time

import pytest
import requests

from .conftest import MAIL_LOG, ROOT, S, pyinfra

pytestmark = pytest.mark.integration
ME, OTHER = 7, 8  # the attacker's seat and a neighbour's


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
    event = backend.act(f"CREATE {n} 33")
    assert event["outcome"] == "done"
    password = backend.sh(f"grep -o 'your password is [A-Za-z0-9]*' {S.STUDDIR}/{user}/WKSHP-Test101/"
                          "0-ReadMeFirst.ipynb").stdout.split()[-1]
    session = requests.Session()
    session.get(f"{backend.hub}/hub/login", timeout=10)
    session.post(f"{backend.hub}/hub/login", data={"username": user, "password": password,
                                                   "_xsrf": session.cookies.get("_xsrf", "")}, timeout=60)
    xsrf = next(c.value for c in session.cookies if c.name == "_xsrf" and c.path.startswith("/hub"))
    minted = session.post(f"{backend.hub}/hub/api/users/{user}/tokens", json={"note": "keep"},
                          headers={"X-XSRFToken": xsrf}, timeout=30)
    assert minted.status_code in (200, 201), minted.text
    token = minted.json()["token"]
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
    password = backend.sh(f"grep -o 'your password is [A-Za-z0-9]*' {S.STUDDIR}/{user}/WKSHP-Test101/"
                          "0-ReadMeFirst.ipynb").stdout.split()[-1]
    assert backend.login(user, password).status_code == 302
    backend.act(f"PURGE {n} 34", body="")
