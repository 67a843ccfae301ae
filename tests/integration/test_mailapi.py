"""The mail API end to end: real SMTP to the published POSTPORT, procmail, the handler, the hub."""

import json
import re
import shlex
import socket
import time

import pytest

from facts.postfix import LOGICAL_LINES, PostfixConfig

from .conftest import MAIL_LOG as LOG
from .conftest import S

pytestmark = pytest.mark.integration
PROCMAIL_LOG = f"{S.mail_home}/.mail/procmail.log"
STUDENT = 11


def test_create_cleanup_purge(backend):
    user, home = f"student{STUDENT}", f"{S.STUDDIR}/student{STUDENT}"
    backend.wait_for_hub()

    event = backend.act(f"CREATE {STUDENT} 42 participant@example.org")
    assert event["outcome"] == "done", event
    readme = backend.sh(f"cat {home}/WKSHP-Test101/0-ReadMeFirst.ipynb").stdout
    json.loads(readme)  # still a notebook after rendering
    password = re.search(r"your password is ([A-Za-z0-9]+)", readme).group(1)
    assert f"You are student {STUDENT} on" in readme and f"web port is {20000 + STUDENT - 1}" in readme
    assert backend.sh(f"stat -c %U {home}/WKSHP-Test101/1-Exercise.ipynb").stdout.strip() == user
    assert backend.login(user, password).status_code == 302  # the new password works
    deadline = time.monotonic() + 90
    while not backend.server_ready(user):
        assert time.monotonic() < deadline, "the CREATE did not start the student's server"
        time.sleep(2)

    # the participant runs one of the two code cells, then the workshop ends
    backend.sh(f"cd {home}/WKSHP-Test101 && python3 -c \"import json; nb = json.load(open('1-Exercise.ipynb')); "
               "[c for c in nb['cells'] if c['cell_type'] == 'code'][0]['execution_count'] = 1; "
               "json.dump(nb, open('1-Exercise.ipynb', 'w'))\"", user=user)
    event = backend.act(f"CLEANUP {STUDENT} 42")
    assert (event["outcome"], event["completion"]) == ("done", 50), event
    assert not backend.server_ready(user)
    assert backend.login(user, password).status_code == 403  # the password was changed
    assert backend.sh(f"test -e {home}/WKSHP-Test101", check=False).returncode != 0  # not a reset workshop

    backend.sh(f"echo leftover > {home}/notes.txt", user=user)
    event = backend.act(f"PURGE {STUDENT} 42", body="")
    assert event["outcome"] == "done", event
    assert sorted(backend.sh(f"ls -A {home}").stdout.split()) == sorted(backend.sh("ls -A /etc/skel").stdout.split())


def test_create_opens_jupyterlab_on_the_workshops_readme_and_gives_an_ssh_key_pair(backend):
    """As upstream's CREATE: the participant's JupyterLab opens 0-ReadMeFirst of the workshop (the
    default workspace their server serves) with a checkpoint to revert to, and they own an SSH
    key pair for the ssh kernel."""
    n, user, home = 19, "student19", f"{S.STUDDIR}/student19"
    assert backend.act(f"CREATE {n} 63")["outcome"] == "done"
    keys = backend.sh(f"stat -c '%n %U %a' {home}/.ssh/id_rsa {home}/.ssh/id_rsa.pub").stdout.split("\n")
    assert keys[:2] == [f"{home}/.ssh/id_rsa {user} 600", f"{home}/.ssh/id_rsa.pub {user} 644"], keys
    assert backend.sh(f"ssh-keygen -l -f {home}/.ssh/id_rsa.pub").stdout.startswith("2048 ")
    session = backend.browser(user, backend.password(n))
    space = session.get(f"{backend.hub}/user/{user}/lab/api/workspaces/default", timeout=30)
    assert space.status_code == 200, space.text[:300]
    layout = space.json()["data"]["layout-restorer:data"]["main"]
    assert layout["current"] == "notebook:WKSHP-Test101/0-ReadMeFirst.ipynb", layout
    readme = "WKSHP-Test101/0-ReadMeFirst.ipynb"  # its checkpoint is the notebook as rendered: "Revert" returns to it
    saved = session.get(f"{backend.hub}/user/{user}/api/contents/{readme}/checkpoints", timeout=30)
    assert [c["id"] for c in saved.json()] == ["checkpoint"], saved.text[:300]
    assert backend.sh(f"cmp {home}/{readme} {home}/WKSHP-Test101/.ipynb_checkpoints/0-ReadMeFirst-checkpoint.ipynb",
                      user=user, check=False).returncode == 0
    before = backend.sh(f"cat {home}/.ssh/id_rsa.pub").stdout
    assert backend.act(f"CLEANUP {n} 63")["outcome"] == "done"
    assert backend.act(f"CREATE {n} 64")["outcome"] == "done"  # the next participant: a key of their own
    assert backend.sh(f"cat {home}/.ssh/id_rsa.pub").stdout != before
    backend.act(f"PURGE {n} 64", body="")


ATTACKS = [
    ("other-sender", "CREATE 4 1", "WKSHP-Test101\n", "mallory@example.org", "not the mail API sender"),
    ("not-an-action", "HELLO 4 1", "WKSHP-Test101\n", S.WODSENDER, "procmail"),
    ("stdid-out-of-range", f"CREATE {S.USERMAX + 1} 1", "WKSHP-Test101\n", S.WODSENDER, "outside"),
    ("unknown-workshop", "CREATE 4 1", "WKSHP-Nope101\n", S.WODSENDER, "does not exist"),
    ("shell-everywhere", "CREATE 4;touch${IFS}/tmp/pwned1 $(touch${IFS}/tmp/pwned2) `touch${IFS}/tmp/pwned3`@x.org",
     "WKSHP-Test101;touch /tmp/pwned4\n", S.WODSENDER, "must be numbers"),
    ("shell-in-body", "CREATE 4 1", "WKSHP-Test101$(touch /tmp/pwned5)\n", S.WODSENDER, "not a workshop name"),
]


@pytest.mark.parametrize("subject,body,sender,reason", [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_bad_messages_change_nothing_and_are_logged(backend, subject, body, sender, reason):
    before = backend.home_digest(4)
    if reason == "procmail":  # dropped before the handler, by the procmail rules
        count = len(backend.lines(PROCMAIL_LOG))
        backend.send(subject, body=body, sender=sender)
        deadline = time.monotonic() + 30
        while not any("wod-mail-api: rejected" in line for line in backend.lines(PROCMAIL_LOG)[count:]):
            assert time.monotonic() < deadline, "the foreign sender was not logged as rejected"
            time.sleep(0.5)
    else:
        event = backend.act(subject, body=body, sender=sender)
        assert event["outcome"] == "rejected" and reason in event["reason"], event
    assert backend.home_digest(4) == before
    assert backend.sh("ls /tmp/pwned* 2>/dev/null || true").stdout == ""


def test_smtp_from_a_host_that_is_not_an_api_db_is_refused(backend):
    """From the backend's own Docker address: neither localhost nor an api-db host."""
    result = backend.sh(
        "python3 - <<'EOF'\n"
        "import smtplib, socket\n"
        "addr = socket.gethostbyname(socket.gethostname())\n"
        f"with smtplib.SMTP(addr, {S.POSTPORT}, timeout=20) as s:\n"
        "    try:\n"
        f"        s.sendmail('{S.WODSENDER}', ['{S.WODUSER}@localhost'], 'Subject: PURGE 4 1\\n\\nx')\n"
        "    except smtplib.SMTPRecipientsRefused as e:\n"
        "        print('refused', e.recipients)\n"
        "EOF", check=False)
    assert "refused" in result.stdout and "Client host rejected" in result.stdout, result.stdout + result.stderr


def test_wod_test_action_crafts_the_same_mail(backend):
    before = len(backend.lines(LOG))
    out = backend.sh("wod-test-action CREATE WKSHP-Test101 12").stdout
    assert "sent CREATE 12 0" in out
    event = backend.next_event(before)
    assert (event["action"], event["student"], event["outcome"]) == ("CREATE", "student12", "done"), event
    backend.act("PURGE 12 0", body="")


def test_postfix_listens_on_postport_not_25(backend):
    assert backend.sh(f"ss -ltn | grep -c ':{S.POSTPORT} '").stdout.strip() != "0"
    assert backend.sh("ss -ltn | grep -c ':25 '", check=False).stdout.strip() == "0"
    with socket.create_connection(("127.0.0.1", backend.host.ports["postfix"]), timeout=10) as sock:
        assert sock.recv(100).startswith(b"220 ")


ODD_MAIN = ("smtpd_helo_restrictions =\n    permit_mynetworks,\n\n  # a comment inside\n"
            "    reject_invalid_helo_hostname   \nbiff=yes\n  \tdelay_warning_time = 4h\nmydestination = a,   b,\tc\n")
ODD_MASTER = "submission inet n - y - - smtpd\n  -o syslog_name=postfix/submission\n#  -o smtpd_tls_auth_only=yes\n"
BRACES = "  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }\n"


@pytest.mark.parametrize("master", [ODD_MASTER, ODD_MASTER + BRACES], ids=["continued", "braces-left-to-postconf"])
def test_the_postfix_fact_reads_main_and_master_cf_as_postconf_prints_them(backend, master):
    """Continued lines, comments inside them, runs of whitespace, a parameter set twice."""
    backend.sh("cp -p /etc/postfix/main.cf /root/main.cf.kept && cp -p /etc/postfix/master.cf /root/master.cf.kept")
    try:
        backend.sh(f"printf %s {shlex.quote(ODD_MAIN)} >> /etc/postfix/main.cf && "
                   f"printf %s {shlex.quote(master)} >> /etc/postfix/master.cf")
        read = PostfixConfig().process(backend.sh(PostfixConfig().command()).stdout.splitlines())
        own = backend.sh(f"awk '{LOGICAL_LINES}' /etc/postfix/main.cf /etc/postfix/master.cf", check=False)
        assert own.returncode == (BRACES in master), "postconf only for braces (Debian's ${recipient} is none)"
        shown = backend.sh("postconf -n | sed 's/^/M /'; postconf -M | sed 's/^/S /'").stdout.splitlines()
        assert read == PostfixConfig().process(shown)
        assert read["main"]["smtpd_helo_restrictions"] == "permit_mynetworks, reject_invalid_helo_hostname"
        assert read["main"]["mydestination"] == "a, b, c" and "submission/inet" in read["master"]
    finally:
        backend.sh("mv /root/main.cf.kept /etc/postfix/main.cf && mv /root/master.cf.kept /etc/postfix/master.cf")


def test_reset_workshop_keeps_the_home_until_reset(backend):
    home = f"{S.STUDDIR}/student15"
    assert backend.act("CREATE 15 9", body="WKSHP-Reset101\n")["outcome"] == "done"
    event = backend.act("CLEANUP 15 9", body="WKSHP-Reset101\n")
    assert event["outcome"] == "done" and event["completion"] == 0
    assert backend.sh(f"test -d {home}/WKSHP-Reset101", check=False).returncode == 0  # kept for RESET
    assert backend.act("RESET 15 9", body="WKSHP-Reset101\n")["outcome"] == "done"
    assert backend.sh(f"test -e {home}/WKSHP-Reset101", check=False).returncode != 0
    event = backend.act("RESET 15 9", body="WKSHP-Test101\n")
    assert event["outcome"] == "rejected" and "does not reset" in event["reason"]


def test_upstreams_purge_without_a_student_id_purges_the_customers_student(backend):
    """Upstream's scheduler, at expiry, sends `PURGE [object Promise] <customer>` (it does not
    await the student id): the handler takes the student it logged for that customer's CLEANUP."""
    n, home = 18, f"{S.STUDDIR}/student18"
    assert backend.act(f"CREATE {n} 61")["outcome"] == "done"
    assert backend.act(f"CLEANUP {n} 61")["outcome"] == "done"
    backend.sh(f"echo planted > {home}/left.txt")
    event = backend.act("PURGE [object Promise] 61", body="WKSHP-Test101\n")
    assert (event["outcome"], event["student"]) == ("done", f"student{n}"), event
    assert event["student_from"].startswith("customer 61's CLEANUP of "), event
    assert backend.sh(f"test -e {home}/left.txt", check=False).returncode != 0
    event = backend.act("PURGE [object Promise] 62", body="WKSHP-Test101\n")  # a customer never served here
    assert event["outcome"] == "rejected" and "customer 62" in event["reason"], event


def test_a_failed_create_leaves_the_home_as_it_was(backend):
    home = f"{S.STUDDIR}/student16"
    backend.sh(f"echo 'work in progress' > {home}/keep.txt", user="student16")
    before = backend.home_digest(16)
    event = backend.act("CREATE 16 5", body="WKSHP-Broken101\n")
    assert event["outcome"] == "failed" and "IndexError" in event["reason"], event
    assert backend.home_digest(16) == before
    assert backend.sh(f"ls -A {S.STUDDIR} | grep -c '^[.]student16'", check=False).stdout.strip() == "0"


def test_cleanup_then_purge_back_to_back_run_in_order(backend):
    """Postfix delivers both at once; the student's lock runs them one after the other: completion
    is measured from the notebooks before the erase, the end state is purged, no work dir is left."""
    n, home = 17, f"{S.STUDDIR}/student17"
    assert backend.act(f"CREATE {n} 8")["outcome"] == "done"
    backend.sh(f"cd {home}/WKSHP-Test101 && python3 -c \"import json; nb = json.load(open('1-Exercise.ipynb')); "
               "[c for c in nb['cells'] if c['cell_type'] == 'code'][0]['execution_count'] = 1; "
               "json.dump(nb, open('1-Exercise.ipynb', 'w'))\"", user=f"student{n}")
    before = len(backend.lines(LOG))
    backend.send(f"CLEANUP {n} 8")
    backend.send(f"PURGE {n} 8", body="")
    deadline = time.monotonic() + 90
    while len(backend.lines(LOG)) < before + 2:
        assert time.monotonic() < deadline, "the two actions did not both finish"
        time.sleep(0.5)
    events = [json.loads(line) for line in backend.lines(LOG)[before:before + 2]]
    assert [(e["action"], e["outcome"]) for e in events] == [("CLEANUP", "done"), ("PURGE", "done")], events
    assert events[0]["completion"] == 50
    assert sorted(backend.sh(f"ls -A {home}").stdout.split()) == sorted(backend.sh("ls -A /etc/skel").stdout.split())
    assert backend.sh(f"ls -A {S.STUDDIR} | grep '^[.]' || true").stdout == ""  # no private work dir left


def test_a_workshop_with_a_tab_in_its_wod_yml_ships_and_creates(backend):
    assert backend.act("CREATE 18 9", body="WKSHP-Tab101\n")["outcome"] == "done"
    assert "student18" in backend.sh(f"cat {S.STUDDIR}/student18/WKSHP-Tab101/0-ReadMeFirst.ipynb").stdout
    backend.act("PURGE 18 9", body="")
    assert "WKSHP-NotYaml101" not in backend.sh(f"ls {S.workshops_dir}").stdout


def test_the_deploy_names_an_unreadable_wod_yml(backend):
    from .conftest import pyinfra

    _, stderr, _ = pyinfra()
    assert "workshop skipped:" in stderr and "WKSHP-NotYaml101/wod.yml:4" in stderr, stderr[-2000:]
    assert "workshop WKSHP-Unset101 reads IP-WKSHP-Unset101, which nobody set" in stderr


def test_a_new_admintk_token_restarts_the_hub_and_create_works(backend):
    old = backend.token()
    backend.sh(f"rm {S.hub_token_file}")
    from .conftest import changed, pyinfra

    results, _, _ = pyinfra()
    assert "JupyterHub | Restart JupyterHub (its files, token or packages changed)" in changed(results)
    assert backend.token() != old
    backend.wait_for_hub()
    event = backend.act("CREATE 19 10")
    assert event["outcome"] == "done", event
    backend.act("PURGE 19 10", body="")


def test_a_workshop_reading_a_variable_nobody_set_is_rejected_naming_it(backend):
    before = backend.home_digest(16)
    event = backend.act("CREATE 16 5", body="WKSHP-Unset101\n")
    assert event["outcome"] == "rejected" and "IP-WKSHP-Unset101" in event["reason"], event
    assert backend.home_digest(16) == before


def test_workshop_vars_reach_the_notebooks_by_their_upstream_names(backend):
    from .conftest import pyinfra

    pyinfra("--data", 'WORKSHOP_VARS={"IP-WKSHP-Unset101": "10.1.2.3"}')
    try:
        assert backend.act("CREATE 16 5", body="WKSHP-Unset101\n")["outcome"] == "done"
        readme = backend.sh(f"cat {S.STUDDIR}/student16/WKSHP-Unset101/0-ReadMeFirst.ipynb").stdout
        assert "Your appliance is 10.1.2.3" in readme
    finally:
        backend.act("PURGE 16 5", body="")
        pyinfra()


HOOK_LOG = "/tmp/wod-hooks.log"


def test_hooks_run_in_upstreams_order_as_the_admin_without_arguments(backend):
    backend.sh(f"rm -f {HOOK_LOG}")
    event = backend.act("CREATE 20 11")
    assert event["outcome"] == "done" and event["hooks"] == ["public/create-WKSHP-Test101.sh",
                                                             "public/post-copy-WKSHP-Test101.sh"], event
    assert backend.act("CLEANUP 20 11")["hooks"] == ["public/cleanup-WKSHP-Test101.sh"]
    assert backend.lines(HOOK_LOG) == [
        f"public {kind}-WKSHP-Test101.sh stdid=20 w=WKSHP-Test101 user={S.WODUSER} args=0"
        for kind in ("create", "post-copy", "cleanup")]
    backend.act("PURGE 20 11", body="")


def test_a_failing_hook_leaves_the_home_as_it_was(backend):
    home = f"{S.STUDDIR}/student20"
    backend.sh(f"echo 'work in progress' > {home}/keep.txt", user="student20")
    before = backend.home_digest(20)
    backend.sh("touch /tmp/wod-hook-fail")
    try:
        event = backend.act("CREATE 20 12")
    finally:
        backend.sh("rm -f /tmp/wod-hook-fail")
    assert event["outcome"] == "failed" and "post-copy-WKSHP-Test101.sh exited 3" in event["reason"], event
    assert backend.home_digest(20) == before
    assert backend.sh(f"ls -A {S.STUDDIR} | grep '^[.]' || true").stdout == ""


ROOM = range(2, 10)  # a room registering in one scheduler tick


def test_a_room_registering_at_once_is_served_at_once_and_nothing_shared_is_corrupted(backend):
    """Upstream's scheduler sends one CREATE per registrant in the same tick, on concurrent
    connections, its exact bytes. Different students' actions overlap (their durations add up to
    more than the whole burst took); one student's CREATE, CLEANUP and PURGE, sent back to back
    among them, run in the order sent; every account, password, server and log line is whole."""
    import threading

    from bench.room import dialogue, send_as_upstream

    fqdn, port, last = f"{backend.host.name}.wod.test", backend.host.ports["postfix"], 10
    before = len(backend.lines(LOG))
    sends = [threading.Thread(target=send_as_upstream, args=(port, dialogue(fqdn, f"CREATE {n} {700 + n}")))
             for n in ROOM]
    started = time.monotonic()
    for t in sends:
        t.start()
    for subject, body in ((f"CREATE {last} 710", "WKSHP-Test101"), (f"CLEANUP {last} 710", "WKSHP-Test101"),
                          (f"PURGE {last} 710", "")):
        # one after the other, as the scheduler's ticks: each handed over by postfix before the
        # next is sent (two in the same second may be handed over swapped: upstream's PURGE then
        # waits for its customer's cleaned)
        send_as_upstream(port, dialogue(fqdn, subject, body))
        deadline = time.monotonic() + 120
        while "Mail queue is empty" not in backend.sh("postqueue -p").stdout:
            assert time.monotonic() < deadline, backend.sh("postqueue -p").stdout
            time.sleep(0.2)
    for t in sends:
        t.join()
    deadline = time.monotonic() + 300
    while len(events := [json.loads(line) for line in backend.lines(LOG)[before:]
                         if '"FLUSH"' not in line]) < len(ROOM) + 3:
        assert time.monotonic() < deadline, f"{len(events)} of {len(ROOM) + 3} actions logged: {events}"
        time.sleep(1)
    took = time.monotonic() - started
    assert all(e["outcome"] == "done" for e in events), [e for e in events if e["outcome"] != "done"]
    assert [e["action"] for e in events if e["student"] == f"student{last}"] == ["CREATE", "CLEANUP", "PURGE"]
    creates = [e for e in events if e["action"] == "CREATE" and e["student"] != f"student{last}"]
    assert sorted(e["student"] for e in creates) == sorted(f"student{n}" for n in ROOM)
    assert sum(e["seconds"] for e in creates) > took, (took, [e["seconds"] for e in creates])  # they overlapped
    assert backend.sh("pwck -r -q && grpck -r -q", check=False).returncode == 0  # /etc/passwd, shadow, group whole
    for n in ROOM:  # each participant's own password, as their notebook says, logs them in, their server up
        assert backend.login(f"student{n}", backend.password(n)).status_code == 302, n
    deadline = time.monotonic() + 300
    while not all(backend.server_ready(f"student{n}") for n in ROOM):
        assert time.monotonic() < deadline, "the room's servers are not all ready"
        time.sleep(2)
    for n in ROOM:
        backend.act(f"PURGE {n} {700 + n}", body="")
