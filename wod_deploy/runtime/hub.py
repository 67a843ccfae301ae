"""The JupyterHub REST API, as the admintk service: a participant's server started, stopped, and
their hub user forgotten (tokens and sessions with it)."""

from __future__ import annotations

import http.client
import time
import urllib.parse
from pathlib import Path

from . import peers


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
