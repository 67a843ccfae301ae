"""Messages the handler has taken from postfix and not finished yet.

The handler answers postfix once it holds the student's lock, and postfix then forgets the
message: a backend stopped mid-action would lose it. So each message is on disk (synced) before
that answer, locked by its handler for as long as it runs, and removed once its outcome is
logged. One that no handler holds any more (the backend stopped) is an orphan: the callbacks
timer, which also runs at boot, hands it to the handler again.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = ".root"  # the message came from root's wod-test-action, not through postfix


def spool(cfg: dict) -> Path:
    return Path(cfg.get("inflight_dir", "/var/lib/wod/mail-api/inflight"))


@contextmanager
def kept(cfg: dict, raw: bytes, local_root: bool, resumed: Path | None = None):
    """The message on disk, locked, while the block runs; gone once it ends. `resumed`: an
    orphan already on disk and locked by `orphans`."""
    if resumed is not None:
        try:
            yield
        finally:
            resumed.unlink(missing_ok=True)
        return
    where = spool(cfg)
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = where / f"{time.time_ns()}-{os.getpid()}{ROOT if local_root else ''}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, raw)
        os.fsync(fd)
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def orphans(cfg: dict):
    """(raw, local_root, path) of each message no handler holds, oldest first, locked while the
    caller handles it."""
    where = spool(cfg)
    for path in sorted(where.iterdir()) if where.is_dir() else []:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # its handler just finished
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a handler runs it
                continue
            if path.exists():
                yield path.read_bytes(), path.name.endswith(ROOT), path
        finally:
            os.close(fd)
