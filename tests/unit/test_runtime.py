"""The backend-side code: the mail API handler's parsing and arithmetic, the watchdog's choices."""

import json
import os
import tarfile
import time
from pathlib import Path

import pytest

from tests.fake_apidb import FakeApiDb
from wod_deploy.components import workshops
from wod_deploy.runtime import accounts, actions, catalogue, homes, notebooks, render, variables, watchdog
from wod_deploy.runtime.apidb import ApiDb
from wod_deploy.runtime.hub import Hub
from wod_deploy.runtime.message import Rejected, parse
from wod_deploy.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "workshops"


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """The fixture workshops as the deploy ships them: the tarball (with its index), extracted."""
    monkeypatch.setenv("WOD_STATE_DIR", str(tmp_path / "state"))
    workshops._staged.clear()
    tarball, _, _ = workshops.staged(Settings(WODNOBO=str(FIXTURES)))
    with tarfile.open(tarball) as tar:
        tar.extractall(tmp_path / "workshops", filter="data")
    return tmp_path / "workshops"


@pytest.fixture
def cfg(tmp_path, shipped):
    return {"sender": "wodadmin@localhost", "usermin": 1, "usermax": 20, "workshops_dir": str(shipped),
            "log_file": str(tmp_path / "mail-api.log"), "studdir": str(tmp_path / "student"),
            "branding": {"BRANDING": "WoD"}, "fqdn": "hub.example.org", "wod_user": "wodadmin",
            "basestdid": 0, "workshop_ports": {"WKSHP-Test101": {"HTTPPORT": 20000}},
            "clients": ["127.0.0.0/8", "172.17.0.1"], "inflight_dir": str(tmp_path / "inflight")}


def mail(subject, body="WKSHP-Test101\n", sender="wodadmin@localhost", client="172.17.0.1", extra="") -> bytes:
    """A message as procmail gets it from postfix: envelope sender and our smtpd's Received: on top."""
    received = f"Received: from api.wod.test (unknown [{client}])\n\tby hub (Postfix) with SMTP id 1\n" \
        if client else ""
    return (f"Return-Path: <{sender}>\nDelivered-To: wodadmin@hub\n{received}{extra}"
            f"Subject: {subject}\n\n{body}").encode()


def test_the_upstream_api_dbs_message_as_postfix_delivered_it(cfg):
    """Recorded on a backend from the exact bytes upstream's sendPostfixEmail writes (no From:)."""
    raw = (FIXTURES.parent / "mail" / "api-db-create.eml").read_bytes()
    assert b"\nFrom:" not in raw
    req = parse(raw, cfg)
    assert (req.action, req.stdid, req.custid, req.email, req.ws) == ("CREATE", 3, 42, "someone@example.org",
                                                                     "WKSHP-Test101")


def test_create_is_parsed(cfg):
    req = parse(mail("CREATE 3 42 someone@example.org"), cfg)
    assert (req.action, req.stdid, req.custid, req.email, req.ws) == ("CREATE", 3, 42, "someone@example.org",
                                                                     "WKSHP-Test101")


def test_a_challenge_uses_its_workshop(cfg):
    assert parse(mail("CREATE 3 42", body="CHLG-Test101\n"), cfg).ws == "WKSHP-Test101"


def test_purge_needs_no_workshop(cfg):
    assert parse(mail("PURGE 20 7", body=""), cfg).workshop == ""


REJECTED = [
    ("other-sender", mail("CREATE 3 42", sender="mallory@example.org"), "not the mail API sender"),
    ("from-header-is-not-trusted", mail("CREATE 3 42", sender="mallory@example.org",
                                        extra="From: wodadmin@localhost\n"), "not the mail API sender"),
    ("not-an-api-db-host", mail("CREATE 3 42", client="10.9.8.7"), "client 10.9.8.7 is not an api-db host"),
    ("forged-received-below-ours", mail("CREATE 3 42", client="10.9.8.7",
                                        extra="Received: from x (x [172.17.0.1])\n"), "10.9.8.7"),
    ("local-pickup-no-smtp", mail("CREATE 3 42", client=""), "not received over SMTP"),
    ("stdid-too-high", mail("CREATE 21 42"), "outside 1..20"),
    ("stdid-zero", mail("CREATE 0 42"), "outside 1..20"),
    ("unknown-workshop", mail("CREATE 3 42", body="WKSHP-Nope101\n"), "does not exist"),
    ("path-in-workshop", mail("CREATE 3 42", body="WKSHP-../../etc\n"), "not a workshop name"),
    ("bad-action", mail("DELETE 3 42"), "not one of"),
    ("shell-in-stdid", mail("CREATE 3;reboot 42"), "must be numbers"),
    ("shell-in-custid", mail("CREATE 3 $(reboot)"), "must be numbers"),
    ("shell-in-email", mail("CREATE 3 42 `reboot`@x.org"), "not an address"),
    ("shell-in-body", mail("CREATE 3 42", body="WKSHP-Test101;reboot\n"), "not a workshop name"),
    ("too-many-fields", mail("CREATE 3 42 a@b.org extra"), "subject must be"),
]


@pytest.mark.parametrize("raw,reason", [r[1:] for r in REJECTED], ids=[r[0] for r in REJECTED])
def test_rejected(cfg, raw, reason):
    with pytest.raises(Rejected, match=reason.replace("$", r"\$").replace("(", r"\(")):
        parse(raw, cfg)


def test_handle_logs_a_rejection_and_touches_nothing(cfg, monkeypatch):
    monkeypatch.setattr(accounts, "run", lambda *a, **k: pytest.fail("a rejected message ran a command"))
    event = actions.handle(mail("CREATE 99 1"), cfg)
    assert event["outcome"] == "rejected"
    logged = json.loads(Path(cfg["log_file"]).read_text().splitlines()[-1])
    assert logged["outcome"] == "rejected" and "outside 1..20" in logged["reason"]


def test_render_context_gives_per_student_ports(cfg):
    req = parse(mail("CREATE 5 1"), cfg)
    ctx = variables.render_context(cfg, req, "pw")
    assert (ctx["STDID"], ctx["PASSSTU"], ctx["HTTPPORT"], ctx["BRANDING"]) == (5, "pw", 20004, "WoD")


def test_completion_counts_executed_code_cells(tmp_path):
    cells = [{"cell_type": "code", "execution_count": 1}, {"cell_type": "code", "execution_count": None},
             {"cell_type": "markdown"}, {"cell_type": "code", "execution_count": 4}]
    (tmp_path / "a.ipynb").write_text(json.dumps({"cells": cells[:2]}))
    (tmp_path / "b.ipynb").write_text(json.dumps({"cells": cells[2:]}))
    (tmp_path / "broken.ipynb").write_text("{not json")
    assert notebooks.completion(tmp_path) == 67
    assert notebooks.completion(tmp_path / "missing") == 0


def test_workshop_meta_reads_reset_and_range(cfg):
    assert catalogue.workshop_meta(cfg, "WKSHP-Reset101") == {"reset": True, "range": [1, 20], "kernels": ["python3"],
                                                            "appliance": None}
    assert catalogue.workshop_meta(cfg, "WKSHP-Test101")["reset"] is False


def proc(pid, ppid, uid, ticks, *argv, name="python3", started=None):
    return watchdog.Proc(pid, ppid, uid, started if started is not None else pid, ticks, name, argv)


def table(*procs):
    return {(p.pid, p.started): p for p in procs}


def test_watchdog_measures_cpu_per_uid_over_the_window_and_exempts_the_hub_tree_only():
    ticks = watchdog.TICKS * 300  # a whole CPU for the 300 s window
    before = table(
        proc(1, 0, 0, 0, "/opt/jupyterhub/bin/python3", "/opt/jupyterhub/bin/jupyterhub", name="jupyterhub"),
        proc(10, 1, 2003, 0, "/opt/jupyterhub/bin/python3", "/opt/jupyterhub/bin/jupyterhub-singleuser"),
        proc(11, 10, 2003, 0, "/opt/jupyterhub/bin/python3", "-m", "ipykernel_launcher"),  # a kernel
        proc(12, 11, 2003, 10**6, "/usr/bin/python3", "burn.py"),  # old, but idle during the window
        proc(13, 1, 2003, 0, "/bin/sh", "-c", "ipykernel_launcher; burn"),  # looks like a kernel
        proc(20, 1, 2004, 0, "/usr/bin/python3", "half.py"),
        proc(30, 1, 1000, 0, "/usr/bin/python3", "admin.py"),  # not a participant
        proc(40, 1, 0, 0, "/tmp/.x/xmrig", "-o", "pool", name="xmrig"),
    )
    after = table(*[watchdog.Proc(p.pid, p.ppid, p.uid, p.started, p.ticks + spent, p.name, p.argv)
                    for p, spent in zip(before.values(), (0, ticks, ticks, 0, ticks // 2, ticks // 2, ticks, 0))])
    killed = {pid: why.split()[0] for pid, _, why in watchdog.victims(before, after, 300, range(2001, 2021))}
    # student 3 used 2.5 CPUs: the look-alike goes, the server and its kernel stay, the idle one too;
    # student 4 used half a CPU; uid 1000 is no participant; a miner goes whoever runs it
    assert killed == {13: "runaway", 40: "miner"}


def test_watchdog_reads_a_non_dumpable_process_with_its_real_uid():
    """A non-dumpable process's /proc/<pid> is root's on most kernels: the uid comes from status."""
    import subprocess

    child = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
                              "import ctypes, time; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); time.sleep(30)"])
    try:
        time.sleep(0.5)
        seen = watchdog.read(str(child.pid))
        assert (seen.uid, seen.ppid, seen.argv[0]) == (65534, os.getpid(), "/usr/bin/python3")
    finally:
        child.kill()



def test_watchdog_keeps_a_few_kib_of_a_two_megabyte_command_line():
    """A participant's argv is theirs to make long: 2 MB of short arguments cost the watchdog what
    it keeps (the program and one argument), never the whole line."""
    import subprocess
    import tracemalloc

    child = subprocess.Popen(["/bin/sleep", "30", *["a"] * 180_000])
    try:
        time.sleep(0.3)
        tracemalloc.start()
        seen = watchdog.read(str(child.pid))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert seen.argv == ("/bin/sleep", "30") and peak < 64 * 1024, peak
    finally:
        child.kill()


@pytest.fixture
def apidb(cfg, tmp_path):
    fake = FakeApiDb()
    (tmp_path / "secret").write_text("moderator-password\n")
    cfg.update(apidb_url=fake.url, apidb_user="moderator", apidb_secret_file=str(tmp_path / "secret"),
               basestdid=100, spool_dir=str(tmp_path / "spool"), cleaned_poll=0.05, cleaned_wait=5)
    yield fake
    fake.stop()


LOGIN = ("POST", "/api/login", {"username": "moderator", "password": "moderator-password"}, None)


def test_api_db_callbacks_log_in_afresh_for_every_call(cfg, apidb):
    api = ApiDb(cfg)
    req = parse(mail("CREATE 3 42"), cfg)
    api.student(req.stdid, password="pw")
    api.customer(req, active=True)
    assert apidb.calls == []  # spooled first: local work never waits for the api-db
    assert api.flush() == {"landed": 2, "expired": 0, "pending": 0}
    assert apidb.calls == [
        LOGIN, ("PUT", "/api/student/103", {"password": "pw"}, "token-1"),  # local id + BASESTDID
        LOGIN, ("PUT", "/api/customer/42", {"active": True}, "token-2"),
    ]


def test_callbacks_the_api_db_missed_land_once_when_it_is_back(cfg, apidb):
    api = ApiDb(cfg)
    port = apidb.port
    apidb.stop()
    api.customer(parse(mail("CLEANUP 3 42"), cfg), cleaned=True)
    api.student(3, assigned=False)
    assert api.flush() == {"landed": 0, "expired": 0, "pending": 2}
    back = FakeApiDb(port)
    try:
        assert api.flush() == {"landed": 2, "expired": 0, "pending": 0}
        assert api.flush() == {"landed": 0, "expired": 0, "pending": 0}
        puts = [c[1:3] for c in back.calls if c[0] == "PUT"]
        assert puts == [("/api/customer/42", {"cleaned": True}), ("/api/student/103", {"assigned": False})]
    finally:
        back.stop()


def test_a_callback_older_than_its_ttl_is_dropped_and_counted(cfg, apidb):
    cfg["callback_ttl"] = 0
    api = ApiDb(cfg)
    apidb.stop()
    api.student(3, assigned=False)
    assert api.flush() == {"landed": 0, "expired": 1, "pending": 0}


def test_reset_range_is_parsed_and_only_for_reset(cfg):
    req = parse(mail("RESET 1,3 42", body="WKSHP-Reset101\n"), cfg)
    assert (req.stdid, list(req.numbers)) == (1, [1, 2, 3])
    with pytest.raises(Rejected, match="must be numbers"):
        parse(mail("CLEANUP 1,3 42"), cfg)
    with pytest.raises(Rejected, match="outside 1..20"):
        parse(mail("RESET 19,21 42", body="WKSHP-Reset101\n"), cfg)
    with pytest.raises(Rejected, match="backwards"):
        parse(mail("RESET 3,1 42", body="WKSHP-Reset101\n"), cfg)


def test_reset_waits_for_cleaned_and_frees_the_range_capacity(cfg, apidb, monkeypatch):
    """RESET 1,3: polls the customer until cleaned (false, then true), sets the workshop's
    capacity to the range size, then resets each student and tells the api-db."""
    apidb.cleaned = [False, True]
    done = []
    monkeypatch.setattr(homes, "rebuild_home", lambda cfg, n, *a, **k: done.append(("home", n)))
    monkeypatch.setattr(accounts, "set_password", lambda user, pw: done.append(("password", user)))
    monkeypatch.setattr(accounts, "evict", lambda cfg, hub, n: done.append(("evict", n)))
    monkeypatch.setattr(accounts, "close_login", lambda user: done.append(("closed", user)))

    req = parse(mail("RESET 1,3 42", body="WKSHP-Reset101\n"), cfg)
    api = ApiDb(cfg)
    result = actions.reset(cfg, req, None, api)
    assert result["cleaned"] == "cleaned" and result["students"] == ["student1", "student2", "student3"]
    assert [c[1] for c in apidb.calls if c[0] == "GET"] == ["/api/customers/42", "/api/customers/42", "/api/workshops"]
    assert [n for what, n in done if what in ("evict", "home")] == [1, 1, 2, 2, 3, 3]
    api.flush()
    puts = [c[1:3] for c in apidb.calls if c[0] == "PUT"]
    assert puts[0] == ("/api/workshop/9", {"capacity": 3})
    assert [p for p, _ in puts[1:]] == ["/api/student/101", "/api/student/102", "/api/student/103"]
    assert all(b["assigned"] is False and b["password"] for _, b in puts[1:])


def test_no_api_db_configured_means_no_calls(cfg):
    api = ApiDb({**cfg, "apidb_url": ""})
    api.customer(parse(mail("CREATE 3 42"), cfg), active=True)  # nothing to reach: must not raise
    assert api.flush() == {"landed": 0, "expired": 0, "pending": 0} and api.wait_cleaned(42) == "no api-db"


RENDERING = FIXTURES.parent / "rendering"


def test_a_workshop_renders_to_the_bytes_ansible_produces(tmp_path):
    """hostvars, regex_replace, random(seed=...), format, trim_blocks, a raw block; a .yml holding
    {{ item }} and a .md are copied untouched (expected/ was made by ansible-core 2.17)."""
    variables = json.loads((RENDERING / "vars.json").read_text())
    render.render_tree(RENDERING / "WKSHP-Compat101", tmp_path / "out", variables, host="localhost")
    expected = {p.relative_to(RENDERING / "expected"): p.read_bytes() for p in (RENDERING / "expected").rglob("*")}
    rendered = {p.relative_to(tmp_path / "out"): p.read_bytes() for p in (tmp_path / "out").rglob("*")}
    assert rendered == expected


def test_the_variables_a_workshop_needs_are_found_in_its_templates():
    variables = json.loads((RENDERING / "vars.json").read_text())
    gaps = render.missing(RENDERING / "WKSHP-Compat101", set(variables) - {"IP-WKSHP-Compat101", "COMPATTOK"})
    assert gaps == {"0-ReadMeFirst.ipynb": {"IP-WKSHP-Compat101", "COMPATTOK"}}
    assert render.missing(RENDERING / "WKSHP-Compat101", set(variables)) == {}


def test_ansible_random_with_a_seed_is_ansibles():
    assert render.ansible_random(65000, seed="localhost12") == 23682  # what ansible-core 2.17 printed


PAYLOAD = "{{ ''.__class__.__mro__[1].__subclasses__() }}{{ cycler.__init__.__globals__.os.system('id') }}"


def test_a_template_cannot_reach_python_internals(tmp_path):
    import jinja2.exceptions

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "evil.ipynb").write_text(PAYLOAD)
    with pytest.raises(jinja2.exceptions.SecurityError):
        render.render_tree(tmp_path / "src", tmp_path / "out", {}, host="localhost")


def test_completion_survives_a_notebook_nested_past_the_parsers_depth(tmp_path):
    (tmp_path / "a.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "execution_count": 1}]}))
    (tmp_path / "deep.ipynb").write_text("[" * 200_000)  # json.loads: RecursionError, not ValueError
    (tmp_path / "deep-dict.ipynb").write_text('{"cells": ' + "[" * 100_000)
    assert notebooks.completion(tmp_path) == 100


def test_cleanup_goes_on_whatever_the_notebooks_raise(cfg, monkeypatch):
    """A participant's files never stop the slot's end: completion 0, the reason logged."""
    def boom(path):
        raise OSError(40, "Too many levels of symbolic links")

    monkeypatch.setattr(notebooks, "completion", boom)
    assert actions.measured(Path("/nonexistent")) == (0, {"completion_error": "OSError: [Errno 40] Too many levels "
                                                                               "of symbolic links"})


def test_completion_reads_no_symlink_fifo_or_huge_file(tmp_path):
    import os

    nb = {"cells": [{"cell_type": "code", "execution_count": 1}, {"cell_type": "code", "execution_count": None}]}
    (tmp_path / "a.ipynb").write_text(json.dumps(nb))
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"cells": [{"cell_type": "code", "execution_count": 1}] * 50}))
    (tmp_path / "link.ipynb").symlink_to(secret)  # would be root's file
    os.mkfifo(tmp_path / "hang.ipynb")  # would block a reader forever
    with open(tmp_path / "huge.ipynb", "wb") as f:
        f.truncate(notebooks.MAX_NOTEBOOK + 1)
    assert notebooks.completion(tmp_path) == 50
    (tmp_path.parent / "linked").symlink_to(tmp_path)
    assert notebooks.completion(tmp_path.parent / "linked") == 0


def test_root_on_the_handlers_socket_needs_no_smtp_trail(cfg):
    """wod-test-action (root) hands a bare request to the socket; anyone else needs postfix's trail."""
    bare = b"Subject: CREATE 3 0\n\nWKSHP-Test101\n"
    assert parse(bare, cfg, local_root=True).client == "local root"
    with pytest.raises(Rejected, match="envelope sender"):
        parse(bare, cfg)


def test_the_broken_fixture_workshop_fails_half_way_through_rendering(tmp_path):
    """The integration test of a failed CREATE relies on it: Ansible's random of nothing raises."""
    with pytest.raises(IndexError):
        render.render_tree(FIXTURES / "WKSHP-Broken101", tmp_path / "out", {"STDID": 1}, host="localhost")


def test_work_done_as_a_participant_has_their_rights_and_a_time_bound():
    """What the handler runs as the student (rendering their workshop, kill -1): run as root here,
    as the handler is, and the child still cannot read root's files nor outlive its bound."""
    import pwd

    nobody = pwd.getpwnam("nobody")
    with pytest.raises(RuntimeError, match="PermissionError"):
        accounts.as_user(nobody, 10, Path("/etc/shadow").read_text)
    with pytest.raises(RuntimeError, match="wait status"):
        accounts.as_user(nobody, 1, time.sleep, 30)
    accounts.as_user(nobody, 10, Path("/etc/hostname").read_text)  # what they may read, they read


def test_a_home_is_swapped_in_one_step(tmp_path):
    """rename(2) twice leaves an instant (a reboot) with no home; RENAME_EXCHANGE does not."""
    home, fresh = tmp_path / "student7", tmp_path / "new"
    home.mkdir()
    (home / "old.txt").write_text("old")
    fresh.mkdir()
    (fresh / "new.txt").write_text("new")
    homes.exchange(fresh, home)
    assert [p.name for p in home.iterdir()] == ["new.txt"] and [p.name for p in fresh.iterdir()] == ["old.txt"]
    with pytest.raises(FileNotFoundError):
        homes.exchange(tmp_path / "absent", home)
    homes.synced(tmp_path)  # syncfs on the filesystem of the homes


def test_the_handler_waits_for_a_hub_that_is_starting(tmp_path):
    """After a reboot, postfix hands the interrupted message over before the hub listens."""
    import socket
    import threading
    import urllib.parse

    token = tmp_path / "token"
    token.write_text("t\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hub = Hub({"hub_url": f"http://127.0.0.1:{port}", "hub_token_file": str(token), "hub_wait": 0})
    with pytest.raises(ConnectionRefusedError):
        hub.connected(urllib.parse.urlsplit(hub.url))
    server = socket.socket()

    def listen_later():
        time.sleep(1.5)
        server.bind(("127.0.0.1", port))
        server.listen()

    threading.Thread(target=listen_later).start()
    hub.wait = 30
    started = time.monotonic()
    hub.connected(urllib.parse.urlsplit(hub.url)).close()
    server.close()
    assert 1 < time.monotonic() - started < 30


def test_the_hub_database_backup_and_service_token_revocation(tmp_path):
    import sqlite3

    from wod_deploy.runtime import hubdb

    db = tmp_path / "jupyterhub.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE api_tokens (id INTEGER PRIMARY KEY, user_id INTEGER, service_id INTEGER)")
        conn.executemany("INSERT INTO api_tokens (user_id, service_id) VALUES (?, ?)",
                         [(None, 1), (3, None), (None, 2)])  # two services' tokens, a user's
    copy = hubdb.backup(db, tmp_path / "backups")
    assert copy.parent.stat().st_mode & 0o777 == 0o700 and copy.stat().st_mode & 0o777 == 0o600
    assert hubdb.revoke_service_tokens(db) == 2
    rows = lambda path: sqlite3.connect(path).execute("SELECT user_id, service_id FROM api_tokens").fetchall()  # noqa: E731
    assert rows(db) == [(3, None)] and len(rows(copy)) == 3  # the backup is the database before
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    assert hubdb.revoke_service_tokens(empty) == 0


def test_upstreams_unawaited_student_id_is_the_customers_as_we_logged_it(cfg, monkeypatch):
    """Upstream's scheduler mails `PURGE [object Promise] <customer>` (its sendPurgeMail does not
    await computeStudentId): the student is the one our log gave that customer (its last CREATE
    or CLEANUP done), and the event says so; a customer we never served is rejected."""
    done = []
    monkeypatch.setattr(actions, "HANDLERS", {**actions.HANDLERS, "PURGE": lambda c, req, hub, api: done.append(
        (req.action, req.stdid)) or {}, "RESET": lambda c, req, hub, api: done.append((req.action, req.stdid)) or {}})
    monkeypatch.setattr(actions, "students_locked", lambda c, numbers: __import__("contextlib").nullcontext())
    monkeypatch.setattr(actions, "Hub", lambda c: None)
    for n, custid in ((3, 42), (5, 43), (4, 42)):
        actions.log(cfg, action="CREATE", student=f"student{n}", customer=custid, outcome="done")
    actions.log(cfg, action="CLEANUP", student="student9", customer=44, outcome="failed")
    event = actions.handle(mail("PURGE [object Promise] 42", body="WKSHP-Test101\n"), cfg)
    assert (event["outcome"], event["student"], done) == ("done", "student4", [("PURGE", 4)]), event.get("reason")
    assert event["student_from"].startswith("customer 42's CREATE of ")
    event = actions.handle(mail("RESET [object Promise] 43", body="WKSHP-Reset101\n"), cfg)
    assert (event["student"], done[-1]) == ("student5", ("RESET", 5))
    actions.log(cfg, action="CREATE", student="student5", customer=47, outcome="done")  # student5 given again
    event = actions.handle(mail("PURGE [object Promise] 43", body="WKSHP-Reset101\n"), cfg)
    assert event["outcome"] == "rejected" and "student5 serves customer 47" in event["reason"], event
    assert done[-1] == ("RESET", 5)  # nothing more ran
    event = actions.handle(mail("PURGE [object Promise] 44"), cfg)  # a failed action names the student too
    assert (event["outcome"], event["student"]) == ("done", "student9"), event
    event = actions.handle(mail("PURGE [object Promise] 45"), cfg)  # nothing of that customer's
    assert event["outcome"] == "rejected" and "[object Promise]" in event["reason"], event
    with pytest.raises(Rejected, match="must be numbers"):  # only PURGE and RESET, only that shape
        parse(mail("CREATE [object Promise] 42"), cfg)


def test_the_log_is_read_from_its_end_in_blocks(tmp_path):
    path = tmp_path / "log"
    lines = [f"line {i} " + "x" * (i % 7) for i in range(500)]
    path.write_text("\n".join(lines) + "\n")
    assert [b.decode() for b in actions.backwards(str(path), block=16) if b] == lines[::-1]


def test_a_sender_is_answered_once_the_students_lock_is_held_so_one_students_actions_keep_their_order(
        cfg, tmp_path, monkeypatch):
    """Postfix hands over the next message once the handler answers: a second message for the
    same student is answered only after the first action ends; another student's runs meanwhile."""
    import threading

    cfg["lock_dir"] = str(tmp_path / "locks")
    release, ran = threading.Event(), []

    def cleanup(c, req, hub, api):
        ran.append(req.stdid)
        if len(ran) == 1:
            assert release.wait(10)
        return {}

    monkeypatch.setattr(actions, "HANDLERS", {**actions.HANDLERS, "CLEANUP": cleanup})
    monkeypatch.setattr(actions, "Hub", lambda c: None)

    def handled(n: int) -> threading.Event:
        answered = threading.Event()
        threading.Thread(target=actions.handle, args=(mail(f"CLEANUP {n} 1"), cfg),
                         kwargs={"accepted": lambda event: answered.set()}, daemon=True).start()
        return answered

    assert handled(3).wait(5)  # its action now runs, holding student3's lock
    second, other = handled(3), handled(4)
    assert other.wait(5) and not second.wait(1)  # student4 goes on; student3's next waits its turn
    release.set()
    assert second.wait(5)
    deadline, events = time.monotonic() + 5, []
    while len(events) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
        events = [json.loads(line) for line in Path(cfg["log_file"]).read_text().splitlines()]
    assert ran == [3, 4, 3]
    assert [(e["student"], e["outcome"]) for e in events] == [("student4", "done"), ("student3", "done"),
                                                              ("student3", "done")]
    assert all("seconds" in e for e in events)


def test_a_handler_that_is_not_reached_has_postfix_try_again(tmp_path, monkeypatch):
    from wod_deploy.runtime import cli

    monkeypatch.setattr("sys.stdin", open(os.devnull))
    assert cli.submit(str(tmp_path / "no-socket")) == 75  # EX_TEMPFAIL: procmail's `e` rule exits with it


def test_an_appliance_workshops_hooks_get_upstreams_wodrtarget(cfg, monkeypatch):
    """Upstream's procmail-action exports WODRTARGET for the hooks' appliance playbooks: the
    workshop's IP-<WS> for a mono-appliance one, plus the student's place in the range for a
    multi-appliance one; without that address its CREATE is refused, naming the key."""
    from wod_deploy.runtime import hooks

    index = {"WKSHP-Test101": {"reset": False, "range": [3, 20], "appliance": "multi"},
             "WKSHP-Reset101": {"reset": True, "range": [1, 20], "appliance": "mono"}}
    monkeypatch.setattr(catalogue, "workshop_index", lambda c: index)
    cfg["workshop_vars"] = {"IP-WKSHP-Test101": "10.0.0.10", "IP-WKSHP-Reset101": "10.0.1.5"}
    assert hooks.appliance_target(cfg, parse(mail("CREATE 5 1"), cfg), 5) == "10.0.0.12"
    assert hooks.appliance_target(cfg, parse(mail("CREATE 5 1", body="WKSHP-Reset101\n"), cfg), 5) == "10.0.1.5"
    index["WKSHP-Test101"]["appliance"] = None
    assert hooks.appliance_target(cfg, parse(mail("CREATE 5 1"), cfg), 5) is None
    del cfg["workshop_vars"]["IP-WKSHP-Reset101"]
    with pytest.raises(Rejected, match="IP-WKSHP-Reset101 no IPv4 address"):
        hooks.appliance_target(cfg, parse(mail("CREATE 5 1", body="WKSHP-Reset101\n"), cfg), 5)


def test_a_purge_that_overtook_its_cleanup_lets_it_through_and_runs_after_it(cfg, tmp_path, monkeypatch):
    """Upstream sends CLEANUP and PURGE in the same tick and postfix may hand the PURGE over first:
    it is answered before it waits for its customer's `cleaned` (so the CLEANUP behind it is
    delivered), and holds no lock meanwhile (so the CLEANUP runs, and the PURGE after it)."""
    import threading

    cfg.update(lock_dir=str(tmp_path / "locks"), apidb_url="http://127.0.0.1:9/api", spool_dir=str(tmp_path / "spool"))
    cleaned, ran = threading.Event(), []
    monkeypatch.setattr(ApiDb, "wait_cleaned", lambda self, custid: cleaned.wait(10) and "cleaned")
    monkeypatch.setattr(actions, "HANDLERS", {**actions.HANDLERS,
                                              "CLEANUP": lambda c, req, hub, api: ran.append("CLEANUP") or {},
                                              "PURGE": lambda c, req, hub, api: ran.append("PURGE") or {}})
    monkeypatch.setattr(actions, "Hub", lambda c: None)
    answered = threading.Event()
    purge = threading.Thread(target=actions.handle, args=(mail("PURGE 3 42", body=""), cfg),
                             kwargs={"accepted": lambda event: answered.set()})
    purge.start()
    assert answered.wait(5) and ran == []  # postfix may go on to the CLEANUP
    assert actions.handle(mail("CLEANUP 3 42"), cfg)["outcome"] == "done"  # not stuck behind the PURGE
    cleaned.set()  # the api-db has it cleaned
    purge.join(10)
    assert ran == ["CLEANUP", "PURGE"]


def test_a_reset_waits_for_cleaned_once_though_the_handler_and_the_action_both_ask(cfg, apidb, tmp_path, monkeypatch):
    cfg["lock_dir"] = str(tmp_path / "locks")
    apidb.cleaned = [False, True]
    for name in ("rebuild_home", "set_password", "evict", "close_login"):
        monkeypatch.setattr(homes if name == "rebuild_home" else accounts, name, lambda *a, **k: None)
    monkeypatch.setattr(actions, "Hub", lambda c: None)
    event = actions.handle(mail("RESET 1,3 42", body="WKSHP-Reset101\n"), cfg)
    assert (event["outcome"], event["cleaned"]) == ("done", "cleaned"), event
    assert [c[1] for c in apidb.calls if c[0] == "GET"] == ["/api/customers/42", "/api/customers/42", "/api/workshops"]


def test_a_message_taken_from_postfix_is_on_disk_until_logged_and_an_orphan_is_run_again(cfg, monkeypatch):
    """Postfix forgets a message once the handler answers: the message stays on disk, locked by its
    handler, until its outcome is logged; one whose handler is gone (the backend stopped) is run
    again by the callbacks timer (which runs at boot), once."""
    from wod_deploy.runtime import inflight

    seen, ran = [], []

    def cleanup(c, req, hub, api):
        seen.append(sorted(p.name for p in inflight.spool(cfg).iterdir()))
        assert list(inflight.orphans(cfg)) == []  # its handler holds it: no orphan
        ran.append(req.stdid)
        return {}

    monkeypatch.setattr(actions, "HANDLERS", {**actions.HANDLERS, "CLEANUP": cleanup})
    monkeypatch.setattr(actions, "Hub", lambda c: None)
    monkeypatch.setattr(actions, "students_locked", lambda c, numbers: __import__("contextlib").nullcontext())
    assert actions.handle(mail("CLEANUP 3 42"), cfg)["outcome"] == "done"
    assert len(seen[0]) == 1 and list(inflight.spool(cfg).iterdir()) == []  # kept while it ran, then gone
    (inflight.spool(cfg) / "1-1").write_bytes(mail("CLEANUP 4 43"))  # a stopped backend's, no handler left
    actions.flush(cfg)
    actions.flush(cfg)
    assert ran == [3, 4] and list(inflight.spool(cfg).iterdir()) == []
    assert json.loads(Path(cfg["log_file"]).read_text().splitlines()[-1])["student"] == "student4"


def test_handlers_at_once_edit_shadow_one_at_a_time(tmp_path, monkeypatch):
    """chpasswd and usermod fail, not wait, on shadow's lock when another holds it (a room's
    PURGEs failed so): ours makes them wait their turn."""
    import threading

    monkeypatch.setattr(accounts, "SHADOW_LOCK", str(tmp_path / "run" / "shadow.lock"))
    inside, most = [0], [0]

    def run(*argv, **kwargs):
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        inside[0] -= 1

    monkeypatch.setattr(accounts, "run", run)
    threads = [threading.Thread(target=f, args=a) for n in range(6)
               for f, a in ((accounts.set_password, (f"student{n}", "pw")), (accounts.close_login, (f"student{n}",)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1
