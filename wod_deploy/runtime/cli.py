#!/usr/bin/env python3
"""The mail API's command lines on a backend (the handler as systemd and procmail start it):

    cli.py                                 handle one message on stdin (the socket; systemd)
    cli.py submit SOCKET                   procmail's side: stdin to the socket
    cli.py flush                           send the api-db callbacks still spooled (a timer)
    wod-test-action ACTION WORKSHOP STDID  root hands the same request to the socket (admins)

Run as a file (`python3 -I .../wod_runtime/cli.py`): -I leaves the package's directory off
sys.path, so this file names its own package before its relative imports (PEP 366).
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
from email.message import EmailMessage
from pathlib import Path

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = Path(__file__).resolve().parent.name

from . import actions
from .message import MAX_MESSAGE

CONFIG = Path(os.environ.get("WOD_MAILAPI_CONFIG", "/etc/wod/mailapi.json"))


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
    """procmail's side: one message from stdin to the handler's socket; its reply back. A
    handler not reached fails the delivery (procmail then has postfix try again later)."""
    try:
        reply = send_to_handler(socket_path, sys.stdin.buffer.read(MAX_MESSAGE + 1))
    except OSError as exc:
        print(f"wod-mail-api: handler not reached: {exc}")
        return 75  # EX_TEMPFAIL
    print(reply)
    return 0 if reply else 75  # no reply: the handler never ran


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
        actions.flush(cfg)
        return 0
    # root (wod-test-action) speaks for itself; anything else came through postfix and procmail
    answered = []
    event = actions.handle(sys.stdin.buffer.read(MAX_MESSAGE + 1), cfg, local_root=peer_uid() == 0,
                           accepted=lambda event: answered.append(answer(event)))
    if not answered:  # rejected before any lock: the outcome itself
        answer(event)
    return 0  # the outcome is in the log; procmail must not bounce the message back


def answer(event: dict) -> None:
    """The handler's one reply to its sender (procmail logs it), then the connection closed: the
    sender, and postfix behind it, go on to the next message while this action runs."""
    print(json.dumps(event, sort_keys=True), flush=True)
    try:
        with socket.socket(fileno=os.dup(1)) as conn:
            conn.shutdown(socket.SHUT_RDWR)
    except OSError:  # not a socket (a terminal, a test's pipe): nothing waits on it
        pass
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # nothing more reaches the sender, nor fails writing to it
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
