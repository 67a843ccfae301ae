"""The api-db, called back as upstream's procmail scripts call it: passwords, completion,
`cleaned`, a freed seat; writes spooled, so local work never waits for the api-db."""

from __future__ import annotations

import fcntl
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from .message import Request


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
        self.waited: dict[int, str] = {}  # custid -> how its wait for `cleaned` ended: waited once per message

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
        """Upstream waits for the customer's `cleaned` before RESET and PURGE; bounded, and once
        (the handler waits before the student's lock, the action asks again)."""
        if not self.url:
            return "no api-db"
        if custid not in self.waited:
            self.waited[custid] = self._wait_cleaned(custid)
        return self.waited[custid]

    def _wait_cleaned(self, custid: int) -> str:
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
