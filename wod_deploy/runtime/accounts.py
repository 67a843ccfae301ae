"""A student's account as the actions change it: passwords, code run as the student, every
process of theirs killed, and eviction (nothing of one participant left for the next).
Every command is an argv list, never a shell."""

from __future__ import annotations

import fcntl
import os
import pwd
import secrets
import signal
import string
import subprocess
import time
from pathlib import Path

from . import naming
from .hub import Hub


def random_password(length: int = 12) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def run(*argv: str, input: str | None = None, cwd: Path | None = None) -> None:
    subprocess.run(argv, input=input, text=True, check=True, capture_output=True, cwd=cwd)


SHADOW_LOCK = "/run/wod-mail-api/shadow.lock"


def edit_shadow(*argv: str, input: str | None = None) -> None:
    """chpasswd and usermod one at a time: handlers run at once, and shadow's own lock makes the
    second of two at once fail ("cannot lock /etc/shadow"), not wait."""
    os.makedirs(os.path.dirname(SHADOW_LOCK), mode=0o700, exist_ok=True)
    with open(SHADOW_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run(*argv, input=input)


def set_password(user: str, password: str) -> None:
    edit_shadow("chpasswd", input=f"{user}:{password}\n")


def close_login(user: str) -> None:
    """No login by any means once the slot is over: an expired account is refused by sshd (an
    SSH key planted during the slot included), PAM (the hub's login) and su alike."""
    edit_shadow("usermod", "--expiredate", "1", user)


def open_login(user: str) -> None:
    """The next participant's: the expiry CLEANUP, RESET or PURGE set is lifted."""
    edit_shadow("usermod", "--expiredate", "", user)


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


def evict(cfg: dict, hub: Hub, n: int) -> None:
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
