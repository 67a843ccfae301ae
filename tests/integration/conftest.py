"""A throwaway Debian 12 backend, converged once per session over real SSH.

Every helper the test modules share lives on the Backend object the fixture yields (log in,
send the mail API, read logs), so no test module imports another.
"""

import json
import os
import signal
import smtplib
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from wod_deploy.settings import Settings
from wod_deploy.testing import hosts

ROOT = Path(__file__).resolve().parents[2]
NAME = os.environ.get("WOD_TEST_HOST", "it-backend")  # a second checkout can use another
os.environ["WOD_HOST_PREFIX"] = NAME  # the inventory of every run here: this session's hosts alone
TIMINGS = ROOT / ".wod" / "timings.txt"
S = Settings()  # the declared defaults: the test host runs with them (plus group_data/docker.py)
MAIL_LOG = f"{S.log_dir}/mail-api.log"


def waited(what: str, found, timeout: float = 300, state=lambda: "", every: float = 2):
    """found()'s first true value, asked every `every` seconds; failing after `timeout` with
    what `state()` says then."""
    deadline = time.monotonic() + timeout
    while not (value := found()):
        assert time.monotonic() < deadline, f"{what}: not after {timeout:.0f}s; {state()}"
        time.sleep(every)
    return value


def timing(label: str, seconds: float) -> None:
    TIMINGS.parent.mkdir(exist_ok=True)
    with TIMINGS.open("a") as f:
        f.write(f"{time.strftime('%F %T')} {label}: {seconds:.1f}s\n")


def pyinfra(*args: str, deploy: str = "deploys/backend.py", count: bool = False, timeout: int = 1500,
            limit: str | None = NAME, env: dict | None = None):
    """Run pyinfra -y --json against the test host; returns (json results, stderr, seconds)."""
    runner = ["-m", "tests.integration.count_commands"] if count else ["-m", "pyinfra"]
    cmd = [sys.executable, *runner, "inventories/docker.py", deploy, *(["--limit", limit] if limit else []),
           "-y", "--json", *args]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=timeout, env={**os.environ, **(env or {})})
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr, elapsed


def interrupted(*args: str, when: str, kill, limit: str = NAME, env: dict | None = None,
                deploy: str = "deploys/backend.py", delay: float = 0) -> str:
    """pyinfra started, frozen (SIGSTOP) `delay` seconds after its output says `when` started,
    `kill(proc)` called, then let go (SIGCONT), and waited for; returns what it printed. Frozen,
    not timed: a converge with little to change now runs past any fixed delay (a whole backend in
    about a second); a delay only for an operation that lasts (apt installing)."""
    cmd = [sys.executable, "-m", "pyinfra", "inventories/docker.py", deploy, "--limit", limit, "-y", *args]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if f"Starting operation: {when}" in line:
            time.sleep(delay)
            proc.send_signal(signal.SIGSTOP)
            kill(proc)
            proc.send_signal(signal.SIGCONT)  # a dead process: nothing (Popen polls first)
            break
    else:
        raise AssertionError(f"{when!r} never started:\n{''.join(seen)[-3000:]}")
    seen.append(proc.communicate(timeout=300)[0])
    assert proc.returncode != 0, "the run was not interrupted"
    return "".join(seen)


def changed(results: dict) -> list[str]:
    """Names of the operations that changed something (Molecule's idempotence test)."""
    return [op["name"] for op in results["results"]["operations"] if op["success"]]


def wod_deploy(*args: str, timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wod_deploy.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, env={**os.environ, **(env or {})})


@dataclass
class Backend:
    host: hosts.TestHost
    first_run: dict
    second_run: dict
    second_round_trips: dict = field(default_factory=dict)  # {component: round trips}, no-change
    second_sent_ahead: int = 0  # of those, started while pyinfra prepared (wod_deploy/ssh.py)

    @property
    def hub(self) -> str:
        return f"http://127.0.0.1:{self.host.ports['hub']}"

    def sh(self, command: str, user: str = "root", check: bool = True, stdin: str | None = None):
        proc = subprocess.run(["docker", "exec", "-i", "-u", user, self.host.container, "sh", "-c", command],
                              capture_output=True, text=True, input=stdin)
        if check:
            assert proc.returncode == 0, f"{command}: {proc.stderr}"
        return proc

    def open_login(self, user: str, password: str) -> None:
        """A student whose slot is open, as CREATE leaves them: this password, the account not
        expired (CLEANUP, RESET and PURGE close it)."""
        self.sh(f"chpasswd && usermod --expiredate '' {user}", stdin=f"{user}:{password}\n")

    def ssh_login(self, user: str) -> bool:
        """Whether `user` gets a shell over SSH with the key a participant planted (the test's own)."""
        import paramiko

        self.not_banned()  # a refused key counts in the sshd jail, and our deploys come from the same address
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        try:
            client.connect("127.0.0.1", port=self.host.ssh_port, username=user, key_filename=str(hosts.ssh_key()),
                           allow_agent=False, look_for_keys=False, timeout=20)
            _, out, _ = client.exec_command("id -un", timeout=20)
            return out.read().decode().strip() == user
        except paramiko.AuthenticationException:
            return False
        finally:
            client.close()

    def plant_key(self, user: str) -> None:
        """What a participant can do in their own home: authorize a key of theirs (the test's)."""
        self.sh("install -d -m 0700 ~/.ssh && cat >> ~/.ssh/authorized_keys && chmod 0600 ~/.ssh/*", user=user,
                stdin=hosts.ssh_key().with_suffix(".pub").read_text())

    def token(self) -> str:
        return self.sh(f"cat {S.hub_token_file}").stdout.strip()

    def wait_for_hub(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return requests.get(f"{self.hub}/hub/api", timeout=5).json()
            except (requests.RequestException, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def not_banned(self) -> None:
        """This test process (the Docker gateway, as the backend sees it) is never banned for the
        refused logins the tests make on purpose: fail2ban ignores it (at run time, so a reboot
        or a restart of fail2ban forgets it). test_security's ban test alone lifts that."""
        self.sh(f"for jail in jupyterhub sshd; do fail2ban-client set $jail addignoreip {self.host.gateway}; done "
                ">/dev/null 2>&1 || true")

    def login(self, user: str, password: str) -> requests.Response:
        """A hub login through the published port, as a browser does it (xsrf cookie first)."""
        self.not_banned()
        session = requests.Session()
        session.get(f"{self.hub}/hub/login", timeout=10)
        return session.post(f"{self.hub}/hub/login", data={"username": user, "password": password,
                                                          "_xsrf": session.cookies.get("_xsrf", "")},
                            timeout=60, allow_redirects=False)

    def password(self, n: int) -> str:
        """The password CREATE gave student n, as the participant reads it in their notebook."""
        return self.sh(f"grep -o 'your password is [A-Za-z0-9]*' {S.STUDDIR}/student{n}/WKSHP-Test101/"
                       "0-ReadMeFirst.ipynb").stdout.split()[-1]

    def browser(self, user: str, password: str, timeout: float = 60) -> requests.Session:
        """A participant's browser: logged in, their server started and ready."""
        self.not_banned()
        session = requests.Session()
        session.get(f"{self.hub}/hub/login", timeout=10)
        session.post(f"{self.hub}/hub/login", data={"username": user, "password": password,
                                                    "_xsrf": session.cookies.get("_xsrf", "")}, timeout=timeout)
        deadline = time.monotonic() + timeout
        while not self.server_ready(user):
            assert time.monotonic() < deadline, f"{user}'s server is not ready after {timeout}s"
            time.sleep(0.5)
        return session

    def mint_token(self, session: requests.Session, user: str) -> str:
        """A hub API token the participant makes for themselves (as the hub's token page does)."""
        xsrf = next(c.value for c in session.cookies if c.name == "_xsrf" and c.path.startswith("/hub"))
        minted = session.post(f"{self.hub}/hub/api/users/{user}/tokens", json={"note": "mine"},
                              headers={"X-XSRFToken": xsrf}, timeout=30)
        assert minted.status_code in (200, 201), minted.text
        return minted.json()["token"]

    def terminal(self, user: str, token: str):
        """A JupyterLab terminal of the participant's server, over its websocket (as the browser)."""
        import websocket

        auth = {"Authorization": f"token {token}"}
        made = requests.post(f"{self.hub}/user/{user}/api/terminals", headers=auth, timeout=30)
        assert made.status_code == 200, made.text
        url = f"ws://127.0.0.1:{self.host.ports['hub']}/user/{user}/terminals/websocket/{made.json()['name']}"
        return websocket.create_connection(url, header=[f"{k}: {v}" for k, v in auth.items()], timeout=30)

    def server_ready(self, user: str) -> bool:
        info = requests.get(f"{self.hub}/hub/api/users/{user}", timeout=10,
                            headers={"Authorization": f"token {self.token()}"}).json()
        server = info.get("servers", {}).get("")
        return bool(server and server.get("ready"))

    # the mail API, as the api-db sends it: SMTP to the published POSTPORT

    def send(self, subject: str, body: str = "WKSHP-Test101\n", sender: str = S.WODSENDER) -> None:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, f"{S.WODUSER}@localhost", subject
        msg.set_content(body)
        with smtplib.SMTP("127.0.0.1", self.host.ports["postfix"], timeout=30) as smtp:
            smtp.send_message(msg)

    def lines(self, path: str) -> list[str]:
        return self.sh(f"cat {path} 2>/dev/null || true").stdout.splitlines()

    def wait_for_new_line(self, path: str, before: int, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.lines(path)
            if len(now) > before:
                return now[before]
            time.sleep(0.5)
        raise AssertionError(f"nothing new in {path} after {timeout}s")

    def act(self, subject: str, **kwargs) -> dict:
        """Send one mail-API message and return the handler's logged outcome (the callback
        timer's FLUSH lines may come in between)."""
        before = len(self.lines(MAIL_LOG))
        self.send(subject, **kwargs)
        return self.next_event(before)

    def next_event(self, before: int, timeout: float = 90) -> dict:
        """The first mail-API event logged after line `before` that is not a callback FLUSH."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = [json.loads(line) for line in self.lines(MAIL_LOG)[before:]]
            found = [e for e in events if e.get("action") != "FLUSH"]
            if found:
                return found[0]
            time.sleep(0.5)
        raise AssertionError(f"no mail-API event after {timeout}s")

    def home_digest(self, n: int) -> str:
        return self.sh(f"{{ getent shadow student{n}; find {S.STUDDIR}/student{n} -printf '%p %m %U %T@\\n' "
                       f"| sort; }} | sha256sum").stdout


@pytest.fixture(scope="session")
def backend():
    os.chdir(ROOT)
    hosts.down(NAME)
    host = hosts.up(role="backend", name=NAME)
    first, _, first_s = pyinfra()
    timing("first converge of deploys/backend.py", first_s)
    second, stderr, second_s = pyinfra(count=True)
    timing("no-change converge of deploys/backend.py", second_s)
    trips = json.loads(next(line for line in stderr.splitlines()
                            if line.startswith("remote-commands-by-deploy: ")).split(": ", 1)[1])
    ahead = int(next(line for line in stderr.splitlines()
                     if line.startswith("remote-commands-sent-ahead: ")).split(": ", 1)[1])
    yield Backend(host=host, first_run=first, second_run=second, second_round_trips=trips, second_sent_ahead=ahead)
    if not os.environ.get("WOD_KEEP_HOSTS"):
        hosts.down(NAME)
