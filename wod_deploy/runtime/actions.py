"""The four actions of the mail API (CREATE, CLEANUP, RESET, PURGE), and the handling of one
message: parse, act under the students' locks, log the outcome, send the api-db's callbacks.

Actions for different students run at once (a room registers in the same scheduler tick); one
student's actions run one at a time, in arrival order: the handler tells its sender it has the
message only once it holds that student's lock, and postfix hands over the next message only
then. With an api-db, RESET and PURGE come after their customer's CLEANUP whatever the arrival
order: they wait for its `cleaned`, which that CLEANUP sets, before taking the lock. A home is rebuilt
aside and swapped in, so a failed action leaves it as it was. Every message is logged with its
outcome.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from . import accounts, catalogue, homes, hooks, inflight, naming, notebooks, variables
from .apidb import ApiDb
from .hub import Hub
from .message import Rejected, Request, parse


@contextmanager
def students_locked(cfg: dict, numbers: range):
    """One student's actions run one at a time, in arrival order: an exclusive lock per student,
    held for the whole action and taken in ascending order (postfix delivers several at once)."""
    locks = Path(cfg.get("lock_dir", "/run/wod-mail-api"))
    locks.mkdir(mode=0o700, parents=True, exist_ok=True)
    with ExitStack() as stack:
        for n in numbers:
            f = stack.enter_context(open(locks / f"{naming.student_name(n)}.lock", "w"))
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def create(cfg: dict, req: Request, hub: Hub, api: ApiDb) -> dict:
    gaps = variables.unset_variables(cfg, req.ws)
    if gaps:
        names = sorted(set().union(*gaps.values()))
        raise Rejected(f"workshop {req.ws} needs {', '.join(names)}, which nobody set (WORKSHOP_VARS; "
                       f"read in {', '.join(sorted(gaps))})")
    missing = catalogue.unregistered_kernels(cfg, req.ws)
    if missing:
        raise Rejected(catalogue.kernels_refused(req.ws, missing))  # before anything is touched
    hooks.appliance_target(cfg, req, req.stdid)  # refused before anything when the appliance has no address
    accounts.evict(cfg, hub, req.stdid)  # whatever the slot's last participant left behind
    password = accounts.random_password()
    ran = hooks.run_hooks(cfg, "create", req, req.stdid, password)
    homes.rebuild_home(cfg, req.stdid, req.ws, variables.render_context(cfg, req, password),
                       after=lambda: ran.extend(hooks.run_hooks(cfg, "post-copy", req, req.stdid, password)))
    accounts.set_password(req.student, password)
    accounts.open_login(req.student)
    hub.start(req.student)
    api.student(req.stdid, password=password)
    api.customer(req, active=True)
    return {"workshop": req.ws, "hooks": ran}


def cleanup(cfg: dict, req: Request, hub: Hub, api: ApiDb) -> dict:
    """Local work first (it never waits for the api-db), then the callbacks."""
    ran = hooks.run_hooks(cfg, "cleanup", req, req.stdid)  # e.g. pulls notebooks back from a container
    password = accounts.random_password()
    accounts.set_password(req.student, password)  # the participant's session is over
    accounts.close_login(req.student)  # and their keys with it (a reset workshop keeps the home)
    accounts.evict(cfg, hub, req.stdid)  # nothing of theirs still running (nor writing the notebooks read next)
    percent, unread = measured(Path(naming.student_home(cfg["studdir"], req.stdid)) / req.ws)
    resets = catalogue.workshop_meta(cfg, req.ws)["reset"]
    if not resets:
        homes.rebuild_home(cfg, req.stdid)
    api.customer(req, completionPercentage=percent)
    api.student(req.stdid, assigned=resets, password=password)  # as upstream's CLEANUP: the api-db's is the new one
    if resets:
        api.customer(req, active=False)
    api.customer(req, cleaned=True)
    return {"workshop": req.ws, "completion": percent, "hooks": ran, **unread}


def measured(notebook_dir: Path) -> tuple[int, dict]:
    """The completion, and why it is 0 when the participant's files could not be read: whatever
    they left, the slot ends (the home is erased after this)."""
    try:
        return notebooks.completion(notebook_dir), {}
    except Exception as exc:
        return 0, {"completion_error": f"{type(exc).__name__}: {exc}"[:300]}


def reset(cfg: dict, req: Request, hub: Hub, api: ApiDb) -> dict:
    if not catalogue.workshop_meta(cfg, req.ws)["reset"]:
        raise Rejected(f"workshop {req.ws} does not reset")
    cleaned = api.wait_cleaned(req.custid)
    if len(req.numbers) > 1:
        api.capacity(req.ws, len(req.numbers))
    passwords = {n: accounts.random_password() for n in req.numbers}
    for n, password in passwords.items():  # the reset scripts may need the new passwords
        accounts.set_password(naming.student_name(n), password)
        accounts.close_login(naming.student_name(n))
    ran = hooks.run_hooks(cfg, "reset", req, req.stdid, passwords[req.stdid])
    for n, password in passwords.items():
        accounts.evict(cfg, hub, n)
        homes.rebuild_home(cfg, n)
        api.student(n, assigned=False, password=password)
    return {"workshop": req.ws, "students": [naming.student_name(n) for n in req.numbers], "cleaned": cleaned,
            "hooks": ran}


def purge(cfg: dict, req: Request, hub: Hub, api: ApiDb) -> dict:
    cleaned = api.wait_cleaned(req.custid)
    accounts.evict(cfg, hub, req.stdid)
    password = accounts.random_password()
    accounts.set_password(req.student, password)
    accounts.close_login(req.student)
    homes.rebuild_home(cfg, req.stdid)
    api.student(req.stdid, assigned=False, password=password)
    return {"cleaned": cleaned}


HANDLERS = {"CREATE": create, "CLEANUP": cleanup, "RESET": reset, "PURGE": purge}
AFTER_CLEANUP = ("RESET", "PURGE")  # upstream's order: they wait for the customer's `cleaned`


def log(cfg: dict, **event) -> None:
    """One line per event, in one append: handlers running at once never interleave their lines."""
    line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **event}, sort_keys=True) + "\n"
    fd = os.open(cfg["log_file"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def backwards(path: str, block: int = 1 << 16):
    """The lines of a file, last first, read a block at a time from its end."""
    with open(path, "rb") as f:
        end, rest = f.seek(0, os.SEEK_END), b""
        while end > 0:
            start = max(0, end - block)
            f.seek(start)
            lines = (f.read(end - start) + rest).split(b"\n")
            rest = lines.pop(0) if start else b""
            yield from reversed(lines)
            end = start


def logged_student(cfg: dict, custid: int) -> tuple[int, str] | None:
    """(student number, how we know) of the customer's last CREATE or CLEANUP in our log, whatever
    its outcome: the api-db gave the customer that student (a CREATE that failed included)."""
    try:
        for line in backwards(cfg["log_file"]):
            if b'"customer": %d,' % custid not in line:
                continue
            event = json.loads(line)
            if event.get("action") in ("CREATE", "CLEANUP") and event.get("student"):
                action, when = event["action"], event["time"]
                return naming.student_number(event["student"]), f"customer {custid}'s {action} of {when}"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def resolved(cfg: dict, req: Request) -> tuple[Request, dict]:
    """A request that names its customer only (upstream's `[object Promise]`), with the student
    we gave that customer; Rejected when our log has none."""
    if not req.by_customer:
        return req, {}
    found = logged_student(cfg, req.custid)
    if not found or found[0] is None:
        raise Rejected(f"the subject names no student ('[object Promise]', upstream's scheduler) and no CREATE or "
                       f"CLEANUP of customer {req.custid} is logged here")
    n, source = found
    since = given_since(cfg, naming.student_name(n), req.custid)
    if since:
        raise Rejected(f"{naming.student_name(n)} serves {since}: this {req.action} of customer {req.custid} "
                       "would end the new participant's slot")
    return dataclasses.replace(req, stdid=n, last=0), {"student_from": source}


def given_since(cfg: dict, student: str, custid: int) -> str | None:
    """Whom the student's last CREATE in our log was for (done or not: the api-db gave them the
    student), when not `custid`: the slot was given again since (upstream frees it at CLEANUP,
    and its `[object Promise]` PURGE may come late)."""
    try:
        for line in backwards(cfg["log_file"]):
            if b'"student": "%s"' % student.encode() not in line:
                continue
            event = json.loads(line)
            if event.get("action") == "CREATE":
                if event.get("customer") != custid:
                    return f"customer {event.get('customer')} (CREATE of {event.get('time')})"
                return None
    except (OSError, ValueError):
        pass
    return None


def handle(raw: bytes, cfg: dict, local_root: bool = False, accepted=lambda event: None,
           resumed: Path | None = None) -> dict:
    """Parse, act, log; returns the logged event. `accepted(event)` is called once the message is
    valid, kept on disk and its students' locks are held (RESET and PURGE: before they wait for
    their customer's CLEANUP): from then on the action is this handler's, and the next message
    for the same students waits for it. `resumed`: an orphan of inflight.py, run again."""
    try:
        req = parse(raw, cfg, local_root)
    except Rejected as exc:
        return logged(cfg, {"outcome": "rejected", "reason": str(exc)})
    with inflight.kept(cfg, raw, local_root, resumed):
        return act(cfg, req, accepted)


def act(cfg: dict, req: Request, accepted) -> dict:
    api = ApiDb(cfg)
    early = req.action in AFTER_CLEANUP and bool(api.url)
    try:
        if early:
            # their customer's CLEANUP may be queued behind them (upstream sends both in the same
            # tick, postfix may swap them): the sender goes on first, and no lock is held meanwhile
            accepted({"action": req.action, "customer": req.custid, "outcome": "accepted"})
            api.wait_cleaned(req.custid)
        req, found = resolved(cfg, req)  # `[object Promise]`: the customer's student, from our log
    except Rejected as exc:
        return logged(cfg, {"action": req.action, "customer": req.custid, "outcome": "rejected", "reason": str(exc)})
    base = {"action": req.action, "student": req.student, "customer": req.custid, "client": req.client, **found}
    try:
        with students_locked(cfg, req.numbers):
            if not early:
                accepted({**base, "outcome": "accepted"})
            started = time.monotonic()
            result = HANDLERS[req.action](cfg, req, Hub(cfg), api)
            result["seconds"] = round(time.monotonic() - started, 2)  # the action itself, lock held
        event = {**base, "outcome": "done", **result}
    except Rejected as exc:
        event = {**base, "outcome": "rejected", "reason": str(exc)}
    except Exception as exc:  # logged, never half-done: homes are swapped in whole
        event = {**base, "outcome": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    if api.url:
        event["callbacks"] = api.flush()
    return logged(cfg, event)


def logged(cfg: dict, event: dict) -> dict:
    log(cfg, **event)
    return event


def flush(cfg: dict) -> dict:
    """`wod-mail-action flush` (a timer, at boot too): the messages a stopped backend left taken
    but unfinished, run again; then the callbacks the api-db missed; logs what moved."""
    for raw, local_root, path in inflight.orphans(cfg):
        handle(raw, cfg, local_root, resumed=path)
    counts = ApiDb(cfg).flush()
    if counts["landed"] or counts["expired"]:
        log(cfg, action="FLUSH", outcome="done", callbacks=counts)
    return counts
