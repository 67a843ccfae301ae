#!/usr/bin/env python3
"""The WoD mail API on a backend: CREATE, CLEANUP, RESET and PURGE a student's workspace.

Postfix delivers a message for WODUSER to procmail, which hands it (`submit`) to this handler's
unix socket; systemd runs the handler as root for each connection:

    Subject: <ACTION> <stdid | min,max for RESET> <customerid> [email]
    Body:    the workshop name, e.g. WKSHP-Docker101 (CHLG-... for a challenge)

This is upstream's protocol (procmail-action.sh), kept so the upstream api-db works unchanged;
but a request is authenticated on the envelope sender and the client address postfix recorded,
every field is validated before anything happens, no value from a mail reaches a shell (every
command is an argv list), one student's actions run one at a time, and a home is rebuilt aside
and swapped in, so a failed action leaves it as it was. Every message is logged with its outcome.

Standalone on purpose: it runs with the JupyterHub venv's python (for Jinja2) and imports
nothing from wod-deploy but naming.py and render.py, shipped beside it. Configuration:
mailapi.json and the workshops' index (.wod-index.json), both written by the deploy.

    mailapi.py                            handle one message on stdin (the socket; systemd)
    mailapi.py submit SOCKET              procmail's side: stdin to the socket
    mailapi.py flush                      send the api-db callbacks still spooled (a timer)
    wod-test-action ACTION WORKSHOP STDID root hands the same request to the socket (admins)
"""

from __future__ import annotations

import ctypes
import email
import email.policy
import fcntl
import http.client
import ipaddress
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import string
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

# naming.py and render.py are shipped beside this file (root's directory); `python -I` leaves it
# off sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import naming  # noqa: E402
import peers  # noqa: E402
import render  # noqa: E402

CONFIG = Path(os.environ.get("WOD_MAILAPI_CONFIG", "/etc/wod/mailapi.json"))
ACTIONS = ("CREATE", "CLEANUP", "RESET", "PURGE")
ID_RE = re.compile(r"^[0-9]{1,9}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}$")
WORKSHOP_RE = re.compile(r"^(WKSHP|CHLG)-[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_MESSAGE = 256 * 1024


class Rejected(ValueError):
    """The message is not a valid request: nothing was changed."""


@dataclass(frozen=True)
class Request:
    action: str
    stdid: int
    custid: int
    email: str
    workshop: str  # as sent: WKSHP-X or CHLG-X ("" for PURGE)
    client: str = ""  # the SMTP client postfix recorded
    last: int = 0  # RESET min,max: the range's end (0: a single student)

    @property
    def student(self) -> str:
        return naming.student_name(self.stdid)

    @property
    def numbers(self) -> range:
        """The students this request acts on: one, or a RESET range (OneView-style workshops)."""
        return range(self.stdid, max(self.stdid, self.last) + 1)

    @property
    def ws(self) -> str:
        """The workshop directory: a challenge uses its workshop's notebooks."""
        return re.sub(r"^CHLG-", "WKSHP-", self.workshop)


# ---------------------------------------------------------------------------------------------
# parsing (pure)


def _address(value: str | None) -> str:
    return parseaddr(value or "")[1].strip().lower()


def parse(raw: bytes, cfg: dict, local_root: bool = False) -> Request:
    """A validated request from a raw message, or Rejected naming what is wrong."""
    if len(raw) > MAX_MESSAGE:
        raise Rejected(f"message of {len(raw)} bytes is larger than {MAX_MESSAGE}")
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    client = "local root" if local_root else authenticate(msg, cfg)
    fields = str(msg["Subject"] or "").split()
    if not 3 <= len(fields) <= 4:
        raise Rejected("subject must be: ACTION STDID CUSTOMERID [EMAIL]")
    action, stdid, custid = fields[:3]
    mail = fields[3] if len(fields) == 4 else ""
    if action not in ACTIONS:
        raise Rejected(f"action {action!r} is not one of {', '.join(ACTIONS)}")
    first, _, last = stdid.partition(",") if action == "RESET" else (stdid, "", "")
    if not ID_RE.match(first) or (last and not ID_RE.match(last)) or not ID_RE.match(custid):
        raise Rejected(f"student id {stdid!r} and customer id {custid!r} must be numbers "
                       f"(RESET also takes a range min,max)")
    for n in (first, last or first):
        if not cfg["usermin"] <= int(n) <= cfg["usermax"]:
            raise Rejected(f"student id {n} is outside {cfg['usermin']}..{cfg['usermax']}")
    if int(last or first) < int(first):
        raise Rejected(f"student range {stdid} runs backwards")
    if mail and not EMAIL_RE.match(mail):
        raise Rejected(f"e-mail {mail!r} is not an address")
    workshop = ""
    if action != "PURGE":
        body = msg.get_payload(decode=True) if not msg.is_multipart() else b""
        lines = [line.strip() for line in (body or b"").decode("utf-8", "replace").splitlines() if line.strip()]
        workshop = lines[0] if lines else ""
        if not WORKSHOP_RE.match(workshop):
            raise Rejected(f"workshop {workshop[:80]!r} is not a workshop name")
        if re.sub(r"^CHLG-", "WKSHP-", workshop) not in workshop_index(cfg):
            raise Rejected(f"workshop {workshop} does not exist on this backend")
    return Request(action, int(first), int(custid), mail, workshop, client, int(last or 0))


def authenticate(msg, cfg: dict) -> str:
    """Trust what the api-db really controls and our postfix recorded, never a header it wrote.

    The upstream api-db sends no From: header. local(8) puts the envelope sender (MAIL FROM) on
    top as Return-Path (cleanup drops any Return-Path the client wrote), and our smtpd puts its
    Received: line with the client's address above whatever the client wrote.
    """
    envelope = _address((msg.get_all("Return-Path") or [""])[0])
    if envelope != cfg["sender"].lower():
        raise Rejected(f"envelope sender {envelope!r} is not the mail API sender")
    client = received_from(msg)
    if client is None:
        raise Rejected("not received over SMTP (no client address in the top Received: line)")
    if not any(client in ipaddress.ip_network(net, strict=False) for net in cfg["clients"]):
        raise Rejected(f"client {client} is not an api-db host")
    return str(client)


def received_from(msg) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client address in the topmost Received: line (the one our postfix added)."""
    top = (msg.get_all("Received") or [""])[0]
    match = re.match(r"^\s*from\s+\S+\s+\([^)]*\[([0-9A-Fa-f:.]+)\]\)", top)
    try:
        return ipaddress.ip_address(match.group(1)) if match else None
    except ValueError:
        return None


MAX_NOTEBOOK = 16 * 1024 * 1024


def read_notebook(path: Path) -> dict | None:
    """A notebook the participant wrote, read as root without trusting it: no symlink followed,
    no FIFO or device opened for reading (O_NONBLOCK, then a regular-file check), size-bounded."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_NOTEBOOK:
            return None
        try:
            data = json.loads(f.read(MAX_NOTEBOOK + 1))
        except ValueError:
            return None
    return data if isinstance(data, dict) else None


def completion(notebook_dir: Path) -> int:
    """Share (0..100) of the code cells that were executed, over the workshop's notebooks."""
    total = done = 0
    if notebook_dir.is_symlink() or not notebook_dir.is_dir():
        return 0
    for nb in sorted(notebook_dir.glob("*.ipynb")):
        cells = (read_notebook(nb) or {}).get("cells", [])
        for cell in cells if isinstance(cells, list) else []:
            if not isinstance(cell, dict):
                continue
            if cell.get("cell_type") == "code":
                total += 1
                done += cell.get("execution_count") is not None
    return round(100 * done / total) if total else 0


def workshop_index(cfg: dict) -> dict:
    """{workshop: {"reset": bool, "range": [min, max] | None}}: each wod.yml, parsed at deploy time."""
    try:
        return json.loads((Path(cfg["workshops_dir"]) / ".wod-index.json").read_text())
    except (OSError, ValueError):
        return {}


def workshop_meta(cfg: dict, ws: str) -> dict:
    return workshop_index(cfg).get(ws, {"reset": False, "range": None})


def render_context(cfg: dict, req: Request, password: str) -> dict:
    """What workshop notebooks may use: upstream's variable names, WORKSHOP_VARS by their
    upstream names, and per-student ports (base + N - the workshop's range min)."""
    meta = workshop_meta(cfg, req.ws)
    range_min = meta["range"][0] if meta["range"] else cfg["usermin"]
    ctx = {**cfg["branding"], **cfg.get("workshop_vars", {})}
    ctx.update(STDID=req.stdid, PASSSTU=password, WORKSHOP=req.ws, CHALLENGE=req.workshop,
               MODEWS=req.workshop.split("-", 1)[0], WODBEEXTFQDN=cfg["fqdn"], WODUSER=cfg["wod_user"],
               BASESTDID=cfg["basestdid"])
    for name, base in cfg["workshop_ports"].get(req.ws, {}).items():
        ctx[name] = base + req.stdid - range_min
    return ctx


def unset_variables(cfg: dict, ws: str, source: Path | None = None) -> dict[str, set[str]]:
    """{file: variables its templates read that nobody set}, for a workshop on this backend (or
    its source directory, on the machine running the deploy)."""
    probe = Request("CREATE", cfg["usermin"], 0, "", ws)
    return render.missing(source or Path(cfg["workshops_dir"]) / ws, set(render_context(cfg, probe, "")))


def random_password(length: int = 12) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


# ---------------------------------------------------------------------------------------------
# effects (argv only, never a shell)


def run(*argv: str, input: str | None = None) -> None:
    subprocess.run(argv, input=input, text=True, check=True, capture_output=True)


def set_password(user: str, password: str) -> None:
    run("chpasswd", input=f"{user}:{password}\n")


def as_user(account: pwd.struct_passwd, timeout: int, fn, *args) -> None:
    """fn(*args) in a child process that is the user (their uid and group only, no capability):
    whatever it reads, writes or signals, the kernel allows as for them. Bounded by `timeout`
    seconds; its exception comes back as a RuntimeError naming it."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        code = 0
        try:
            # nothing of the handler's: not its socket to procmail, its locks, its logs
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(3, write)
            os.closerange(write + 1, os.sysconf("SC_OPEN_MAX"))
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
            signal.alarm(timeout)
            fn(*args)
        except BaseException as exc:
            os.write(write, f"{type(exc).__name__}: {exc}".encode()[:4000])
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode(errors="replace")
    _, status = os.waitpid(child, 0)
    if status:
        raise RuntimeError(message or f"{fn.__name__} as {account.pw_name}: wait status {status}")


def kill_processes(user: str) -> None:
    """Every process of the user, for certain. A child that becomes the user sends SIGKILL to
    every process it may signal (kill -1: the kernel walks them with forks held off, so a fork
    bomb cannot outrun it); then pkill again until none is left."""
    as_user(pwd.getpwnam(user), 10, os.kill, -1, signal.SIGKILL)
    for _ in range(100):
        subprocess.run(["pkill", "-KILL", "-U", user], capture_output=True)
        subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
        if subprocess.run(["pgrep", "-U", user], capture_output=True).returncode and \
                subprocess.run(["pgrep", "-u", user], capture_output=True).returncode:
            return
        time.sleep(0.05)
    raise RuntimeError(f"processes of {user} survive being killed")


SYSV_IPC = {"/proc/sysvipc/shm": "-m", "/proc/sysvipc/msg": "-q", "/proc/sysvipc/sem": "-s"}


def evict(cfg: dict, hub: "Hub", n: int) -> None:
    """The slot goes to the next participant with nothing of this one left: hub user deleted
    (its tokens and sessions with it), crontab gone, every process killed, its files in the
    shared temporary directories and its System V IPC objects removed."""
    user = naming.student_name(n)
    uid = pwd.getpwnam(user).pw_uid
    hub.forget(user)
    subprocess.run(["crontab", "-r", "-u", user], capture_output=True)
    kill_processes(user)
    for shared in ("/tmp", "/var/tmp", "/dev/shm"):
        subprocess.run(["find", shared, "-xdev", "-mindepth", "1", "-uid", str(uid), "-delete"], capture_output=True)
    for table, flag in SYSV_IPC.items():
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        header = Path(table).read_text().splitlines()[0].split()
        for row in rows:
            fields = dict(zip(header, row.split()))
            if fields.get("uid") == str(uid):
                ident = fields.get("shmid") or fields.get("msqid") or fields.get("semid")
                subprocess.run(["ipcrm", flag, ident], capture_output=True)


def run_hooks(cfg: dict, kind: str, req: Request, n: int, password: str = "") -> list[str]:
    """Upstream's `<kind>-<WS>.sh`, public then private, as WODUSER (as procmail ran them), with
    upstream's environment and no arguments; a failure raises (the action is logged as failed)."""
    ran = []
    for layer in ("public", "private"):
        script = Path(cfg["workshops_dir"]) / ".hooks" / layer / f"{kind}-{req.ws}.sh"
        if not (script.is_file() and os.access(script, os.X_OK)):
            continue
        admin = pwd.getpwnam(cfg["wod_user"])
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": admin.pw_dir,
               "USER": admin.pw_name, "LOGNAME": admin.pw_name, "WODUSER": cfg["wod_user"],
               "stdid": str(n), "stddir": naming.student_home(cfg["studdir"], n), "w": req.workshop, "ws": req.ws,
               "randompw": password}
        proc = subprocess.run(["runuser", "-u", admin.pw_name, "--", str(script)], env=env, cwd=admin.pw_dir,
                              capture_output=True, text=True, timeout=cfg.get("hook_timeout", 600))
        if proc.returncode:
            raise RuntimeError(f"{layer}/{script.name} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
        ran.append(f"{layer}/{script.name}")
    return ran


RENAME_EXCHANGE, AT_FDCWD = 2, -100  # linux/fs.h, fcntl.h
_libc = ctypes.CDLL(None, use_errno=True)


def exchange(a: Path, b: Path) -> None:
    """Swap two paths in one step (renameat2 RENAME_EXCHANGE): there is no instant, not even
    across a crash or a reboot, when either name is missing."""
    if _libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE):
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), f"{a} <-> {b}")


def synced(directory: Path) -> None:
    """Everything written to the filesystem holding `directory` is on disk (syncfs: that one
    filesystem only, not the whole machine as sync would)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _libc.syncfs(fd):
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(directory))
    finally:
        os.close(fd)


def rebuild_home(cfg: dict, n: int, ws: str = "", context: dict | None = None, after=None) -> None:
    """Skeleton (plus the rendered workshop) built aside, then swapped in: never half-written,
    and a backend stopped at any point (rebooted mid-CREATE) has the home as it was or complete.
    `after` runs once the new home is in place; if it fails, the old home comes back."""
    student, home = naming.student_name(n), Path(naming.student_home(cfg["studdir"], n))
    account = pwd.getpwnam(student)
    for left in home.parent.glob(f".{student}.*"):  # what a stopped rebuild left (we hold the lock)
        shutil.rmtree(left, ignore_errors=True)
    # a private directory beside the home (same filesystem: the swap is a rename), root's 0700
    work = Path(tempfile.mkdtemp(prefix=f".{student}.", dir=home.parent))
    fresh, stale = work / "new", work / "old"
    try:
        shutil.copytree("/etc/skel", fresh, symlinks=True)
        if context is not None:
            # rendered by a child that is the student: a template that escaped the sandbox
            # could do no more than they can (work/ is 0711 and its name unguessable)
            (fresh / ws).mkdir()
            os.chown(fresh / ws, account.pw_uid, account.pw_gid)
            os.chmod(work, 0o711)
            as_user(account, cfg.get("render_timeout", 300), render.render_tree,
                    Path(cfg["workshops_dir"]) / ws, fresh / ws, context, "localhost")
        run("chown", "-R", f"{account.pw_uid}:{account.pw_gid}", str(fresh))
        os.chmod(fresh, naming.HOME_CHMOD)
        for argv in naming.admin_acl_argv(cfg["wod_user"], str(fresh)):
            run(*argv)
        synced(home.parent)  # the new home on disk before its name is: a power cut gives the old or the new
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    kill_processes(student)
    if home.exists():
        exchange(fresh, home)
        os.rename(fresh, stale)
    else:
        os.rename(fresh, home)
    try:
        if after:
            after()
    except BaseException:
        if stale.exists():
            exchange(stale, home)
        else:
            os.rename(home, stale)
        shutil.rmtree(work, ignore_errors=True)
        raise
    shutil.rmtree(work, ignore_errors=True)


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


class Hub:
    """The JupyterHub REST API, as the admintk service."""

    def __init__(self, cfg: dict):
        self.url = cfg["hub_url"].rstrip("/")
        self.token = Path(cfg["hub_token_file"]).read_text().strip()
        self.wait = cfg.get("hub_wait", 120)

    def connected(self, url) -> http.client.HTTPConnection:
        """A connection to the hub, waiting while nothing listens: the hub (re)starts after a
        reboot (postfix hands over the message a reboot interrupted first thing) or a converge."""
        deadline = time.monotonic() + self.wait
        while True:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            try:
                conn.connect()
                return conn
            except ConnectionRefusedError:
                conn.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def call(self, method: str, path: str, ok=(200, 201, 202, 204)) -> int:
        url = urllib.parse.urlsplit(self.url)
        conn = self.connected(url)
        try:
            # a participant can bind the hub's port while the hub restarts: the token goes only
            # to a socket root owns
            if peers.peer_uid(conn.sock) != 0:
                raise RuntimeError(f"hub {url.netloc}: not answered by root, the token was not sent")
            conn.request(method, f"{url.path}/hub/api{path}", body=None if method == "GET" else b"",
                         headers={"Authorization": f"token {self.token}"})
            status = conn.getresponse().status
        finally:
            conn.close()
        if status not in ok:
            raise RuntimeError(f"hub {method} {path}: HTTP {status}")
        return status

    def start(self, user: str) -> None:
        self.call("POST", f"/users/{user}", ok=(201, 409))
        self.call("POST", f"/users/{user}/server", ok=(201, 202, 400))  # 400: already running

    def stop(self, user: str) -> None:
        self.call("DELETE", f"/users/{user}/server", ok=(202, 204, 400, 404))

    def forget(self, user: str, timeout: float = 60) -> None:
        """Stop the user's server, delete the hub user (its API tokens and login sessions go with
        it), and add it afresh: deleting also drops the name from the hub's allowed users, so the
        slot's next participant could not log in until a restart."""
        self.stop(user)
        deadline = time.monotonic() + timeout
        while self.call("DELETE", f"/users/{user}", ok=(204, 400, 404)) == 400:  # 400: still stopping
            if time.monotonic() > deadline:
                raise RuntimeError(f"hub: {user}'s server did not stop")
            time.sleep(0.5)
        self.call("POST", f"/users/{user}", ok=(201, 409))


class ApiDb:
    """The api-db, called back as upstream does, a fresh login for every call (tokens expire).

    Writes never hold up local work: each is spooled, then sent in order; what does not land now
    is sent again by `wod-mail-action flush` (a timer) until it lands or outlives callback_ttl,
    logged either way. Reads (cleaned, the workshop list) are bounded waits.
    """

    def __init__(self, cfg: dict):
        self.url = cfg.get("apidb_url", "").rstrip("/")
        secret = Path(cfg.get("apidb_secret_file", "/nonexistent"))
        self.password = secret.read_text().strip() if self.url and secret.exists() else ""
        self.user = cfg.get("apidb_user", "")
        self.basestdid = cfg["basestdid"]
        self.spool = Path(cfg.get("spool_dir", "/var/lib/wod/callbacks"))
        self.ttl = cfg.get("callback_ttl", 3600)
        self.wait, self.poll = cfg.get("cleaned_wait", 900), cfg.get("cleaned_poll", 20)

    def _json(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        headers = {"Content-Type": "application/json", **({"x-access-token": token} if token else {})}
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", method=method, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def _call(self, method: str, path: str, body: dict | None = None):
        token = self._json("POST", "/login", {"username": self.user, "password": self.password})["accessToken"]
        return self._json(method, path, body, token)

    def put(self, path: str, body: dict) -> None:
        if not self.url:
            return
        self.spool.mkdir(mode=0o700, parents=True, exist_ok=True)
        entry = {"path": path, "body": body, "queued": time.time()}
        (self.spool / f"{time.time_ns()}.json").write_text(json.dumps(entry))

    def flush(self) -> dict:
        """Send the spooled writes in order; stop at the first that does not land. One flusher at
        a time (the timer and an action may both try): each write is sent once."""
        counts = {"landed": 0, "expired": 0, "pending": 0}
        if not self.url or not self.spool.is_dir():
            return counts
        with open(self.spool / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._flush(counts)

    def _flush(self, counts: dict) -> dict:
        for item in sorted(self.spool.glob("*.json")):
            entry = json.loads(item.read_text())
            try:
                self._call("PUT", entry["path"], entry["body"])
            except (OSError, ValueError, KeyError):
                if time.time() - entry["queued"] < self.ttl:
                    counts["pending"] = len(list(self.spool.glob("*.json")))
                    break
                counts["expired"] += 1
            else:
                counts["landed"] += 1
            item.unlink()
        return counts

    def wait_cleaned(self, custid: int) -> str:
        """Upstream waits for the customer's `cleaned` before RESET and PURGE; bounded."""
        if not self.url:
            return "no api-db"
        deadline = time.monotonic() + self.wait
        while True:
            try:
                if self._call("GET", f"/customers/{custid}").get("cleaned"):
                    return "cleaned"
            except (OSError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                return "timed out"
            time.sleep(self.poll)

    def capacity(self, ws: str, seats: int) -> None:
        """A RESET range frees `seats` seats of the workshop at once (upstream's OneView case)."""
        if not self.url:
            return
        found = [w for w in self._call("GET", "/workshops") if w.get("notebook") == ws]
        if found:
            self.put(f"/workshop/{found[0]['id']}", {"capacity": seats})

    def student(self, n: int, **body) -> None:
        self.put(f"/student/{n + self.basestdid}", body)

    def customer(self, req: Request, **body) -> None:
        self.put(f"/customer/{req.custid}", body)


# ---------------------------------------------------------------------------------------------
# actions


def create(cfg: dict, req: Request, hub: Hub, api: ApiDb) -> dict:
    gaps = unset_variables(cfg, req.ws)
    if gaps:
        names = sorted(set().union(*gaps.values()))
        raise Rejected(f"workshop {req.ws} needs {', '.join(names)}, which nobody set (WORKSHOP_VARS; "
                       f"read in {', '.join(sorted(gaps))})")
    evict(cfg, hub, req.stdid)  # whatever the slot's last participant left behind
    password = random_password()
    ran = run_hooks(cfg, "create", req, req.stdid, password)
    rebuild_home(cfg, req.stdid, req.ws, render_context(cfg, req, password),
                 after=lambda: ran.extend(run_hooks(cfg, "post-copy", req, req.stdid, password)))
    set_password(req.student, password)
    hub.start(req.student)
    api.student(req.stdid, password=password)
    api.customer(req, active=True)
    return {"workshop": req.ws, "hooks": ran}


def cleanup(cfg: dict, req: Request, hub: Hub, api: ApiDb) -> dict:
    """Local work first (it never waits for the api-db), then the callbacks."""
    ran = run_hooks(cfg, "cleanup", req, req.stdid)  # e.g. pulls notebooks back from a container
    set_password(req.student, random_password())  # the participant's session is over
    evict(cfg, hub, req.stdid)  # nothing of theirs still running (nor writing the notebooks read next)
    percent = completion(Path(naming.student_home(cfg["studdir"], req.stdid)) / req.ws)
    resets = workshop_meta(cfg, req.ws)["reset"]
    if not resets:
        rebuild_home(cfg, req.stdid)
    api.customer(req, completionPercentage=percent)
    api.student(req.stdid, assigned=resets)
    if resets:
        api.customer(req, active=False)
    api.customer(req, cleaned=True)
    return {"workshop": req.ws, "completion": percent, "hooks": ran}


def reset(cfg: dict, req: Request, hub: Hub, api: ApiDb) -> dict:
    if not workshop_meta(cfg, req.ws)["reset"]:
        raise Rejected(f"workshop {req.ws} does not reset")
    cleaned = api.wait_cleaned(req.custid)
    if len(req.numbers) > 1:
        api.capacity(req.ws, len(req.numbers))
    passwords = {n: random_password() for n in req.numbers}
    for n, password in passwords.items():  # the reset scripts may need the new passwords
        set_password(naming.student_name(n), password)
    ran = run_hooks(cfg, "reset", req, req.stdid, passwords[req.stdid])
    for n, password in passwords.items():
        evict(cfg, hub, n)
        rebuild_home(cfg, n)
        api.student(n, assigned=False, password=password)
    return {"workshop": req.ws, "students": [naming.student_name(n) for n in req.numbers], "cleaned": cleaned,
            "hooks": ran}


def purge(cfg: dict, req: Request, hub: Hub, api: ApiDb) -> dict:
    cleaned = api.wait_cleaned(req.custid)
    evict(cfg, hub, req.stdid)
    password = random_password()
    set_password(req.student, password)
    rebuild_home(cfg, req.stdid)
    api.student(req.stdid, assigned=False, password=password)
    return {"cleaned": cleaned}


HANDLERS = {"CREATE": create, "CLEANUP": cleanup, "RESET": reset, "PURGE": purge}


def log(cfg: dict, **event) -> None:
    event = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **event}
    with open(cfg["log_file"], "a") as f:
        f.write(json.dumps(event, sort_keys=True) + "\n")


def handle(raw: bytes, cfg: dict, local_root: bool = False) -> dict:
    """Parse, act, log; returns the logged event."""
    try:
        req = parse(raw, cfg, local_root)
    except Rejected as exc:
        event = {"outcome": "rejected", "reason": str(exc)}
        log(cfg, **event)
        return event
    base = {"action": req.action, "student": req.student, "customer": req.custid, "client": req.client}
    api = ApiDb(cfg)
    try:
        with students_locked(cfg, req.numbers):
            result = HANDLERS[req.action](cfg, req, Hub(cfg), api)
        event = {**base, "outcome": "done", **result}
    except Rejected as exc:
        event = {**base, "outcome": "rejected", "reason": str(exc)}
    except Exception as exc:  # logged, never half-done: homes are swapped in whole
        event = {**base, "outcome": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    if api.url:
        event["callbacks"] = api.flush()
    log(cfg, **event)
    return event


def flush(cfg: dict) -> dict:
    """`wod-mail-action flush` (a timer): send the callbacks the api-db missed; log what moved."""
    counts = ApiDb(cfg).flush()
    if counts["landed"] or counts["expired"]:
        log(cfg, action="FLUSH", outcome="done", callbacks=counts)
    return counts


def test_action(cfg: dict, argv: list[str]) -> int:
    """wod-test-action ACTION WORKSHOP STDID: the api-db's request, handed by root straight to the
    handler's socket (SMTP from localhost is refused: students share localhost)."""
    if len(argv) != 3:
        print("usage: wod-test-action CREATE|CLEANUP|RESET|PURGE WORKSHOP STDID", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("wod-test-action: run it as root (sudo wod-test-action ...)", file=sys.stderr)
        return 2
    action, workshop, stdid = argv
    msg = EmailMessage()
    msg["Subject"] = f"{action} {stdid} 0"
    msg.set_content(f"{workshop}\n")
    reply = send_to_handler(cfg["socket"], msg.as_bytes())
    print(f"sent {action} {stdid} 0 / {workshop}: {reply}")
    return 0


def send_to_handler(socket_path: str, raw: bytes) -> str:
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(3600)
        conn.connect(socket_path)
        conn.sendall(raw)
        conn.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: conn.recv(4096), b"")).decode(errors="replace").strip()


def submit(socket_path: str) -> int:
    """procmail's side: one message from stdin to the handler's socket; its outcome back."""
    reply = send_to_handler(socket_path, sys.stdin.buffer.read(MAX_MESSAGE + 1))
    print(reply)
    return 0 if reply else 1  # no reply: the handler never ran (procmail logs it)


def peer_uid() -> int | None:
    """Who is on the other end of stdin, when systemd hands the handler a unix socket."""
    try:
        conn = socket.socket(fileno=os.dup(0))
    except OSError:
        return None
    with conn:
        try:
            _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                            struct.calcsize("3i")))
        except OSError:
            return None
    return uid


def main(argv: list[str]) -> int:
    if argv[:1] == ["submit"]:
        return submit(argv[1])
    cfg = json.loads(CONFIG.read_text())
    if argv[:1] == ["test-action"]:
        return test_action(cfg, argv[1:])
    if argv[:1] == ["flush"]:
        flush(cfg)
        return 0
    # root (wod-test-action) speaks for itself; anything else came through postfix and procmail
    event = handle(sys.stdin.buffer.read(MAX_MESSAGE + 1), cfg, local_root=peer_uid() == 0)
    print(json.dumps(event, sort_keys=True), flush=True)  # to the socket: procmail's log
    return 0  # the outcome is in the log; procmail must not bounce the message back


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
