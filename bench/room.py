"""A room registering at once: upstream's scheduler sends one CREATE per registrant in the same
20-second tick, each on its own connection, with the bytes of its modules/Email sendPostfixEmail
(the whole dialogue before the banner, bare LF, the socket dropped at the first reply). Measured:
from the first byte sent to the first and to the last participant's server ready in the hub.

    python -m bench.room --reuse NAME [--n 20]      # one burst on a converged throwaway backend
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time

from wod_deploy.settings import Settings
from wod_deploy.testing import hosts

S = Settings()
WORKSHOP = "WKSHP-Test101"
CUSTOMER_BASE = 9000  # customer ids of the burst (none of the tests' own)


def dialogue(backend: str, subject: str, body: str = WORKSHOP) -> bytes:
    """What upstream's sendPostfixEmail writes, byte for byte, to the backend (its FQDN)."""
    return (f"HELO api-db.wod.test\nMAIL FROM: {S.WODSENDER}\nRCPT TO: {S.WODUSER}@{backend}\nDATA\n"
            f"Subject: {subject}\n{body}\n.\n").encode()


def create(n: int, backend: str) -> bytes:
    return dialogue(backend, f"CREATE {n} {CUSTOMER_BASE + n} room{n}@example.org")


def send_as_upstream(port: int, raw: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(raw)
        conn.recv(4096)  # the banner: upstream destroys the socket on its first data


def hub_ready(host: hosts.TestHost, token: str) -> set[str]:
    """The users whose default server the hub calls ready (one API read, from inside the host)."""
    read = subprocess.run(["docker", "exec", host.container, "curl", "-sf", "-H", f"Authorization: token {token}",
                           f"http://127.0.0.1:{S.hub_api_port}/hub/api/users?state=ready"],
                          capture_output=True, text=True, timeout=30)
    users = json.loads(read.stdout or "[]") if read.returncode == 0 else []
    return {u["name"] for u in users if (u.get("servers", {}).get("") or {}).get("ready")}


def burst(host: hosts.TestHost, n: int, timeout: float = 600) -> dict:
    """n CREATEs on n concurrent connections; seconds to the first and the last server ready."""
    token = subprocess.run(["docker", "exec", host.container, "cat", S.hub_token_file], capture_output=True,
                           text=True, check=True).stdout.strip()
    wanted = {f"student{i}" for i in range(S.USERMIN, S.USERMIN + n)}
    leftover = hub_ready(host, token) & wanted
    if leftover:
        raise SystemExit(f"already running before the burst: {sorted(leftover)} (PURGE them first)")
    backend = f"{host.name}.wod.test"
    threads = [threading.Thread(target=send_as_upstream, args=(host.ports["postfix"], create(i, backend)))
               for i in range(S.USERMIN, S.USERMIN + n)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first = None
    while True:
        ready = hub_ready(host, token) & wanted
        now = time.monotonic() - start
        if ready and first is None:
            first = now
        if ready == wanted:
            return {"n": n, "first_ready": first, "last_ready": now}
        if now > timeout:
            raise SystemExit(f"{len(ready)}/{n} servers ready after {timeout:.0f}s")
        time.sleep(0.25)


def purge(host: hosts.TestHost, n: int, timeout: float = 300) -> None:
    """The slots freed again (root hands PURGE to the handler), and waited for: the handler answers
    once it holds the student's lock, and a message stays in its in-flight spool until logged."""
    for i in range(S.USERMIN, S.USERMIN + n):
        subprocess.run(["docker", "exec", host.container, "wod-test-action", "PURGE", WORKSHOP, str(i)],
                       capture_output=True, check=True, timeout=300)
    deadline = time.monotonic() + timeout
    while subprocess.run(["docker", "exec", host.container, "sh", "-c", f"ls -A {S.data_dir}/inflight 2>/dev/null"],
                         capture_output=True, text=True).stdout.strip():
        if time.monotonic() > deadline:
            raise SystemExit(f"the PURGEs are still running after {timeout:.0f}s")
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reuse", required=True, help="a converged throwaway backend")
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args(argv)
    host = next(h for h in hosts.running() if h.name == args.reuse)
    purge(host, args.n)  # whatever earlier work left running on those students
    try:
        print(json.dumps(burst(host, args.n)))
    finally:
        purge(host, args.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
