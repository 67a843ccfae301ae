"""The three roles end to end, as upstream's own applications: wod-api-db on PostgreSQL and the
wod-frontend portal (../shared/upstream/, unchanged), converged with deploys/site.py beside the
session's backend. A registration made in the portal's own form, in a real browser, goes through
the api-db's scheduler, the backend's mail API and its callbacks, and the password the api-db
holds logs the student into the hub."""

import json
import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest
import requests

from wod_deploy.testing import hosts

from .conftest import MAIL_LOG, NAME, ROOT, S, changed, pyinfra, timing, waited, wod_deploy

pytestmark = pytest.mark.integration
UPSTREAM = (ROOT.parent / "shared" / "upstream" / "wod-api-db").resolve()
PORTAL_SOURCE = (ROOT.parent / "shared" / "upstream" / "wod-frontend").resolve()
PASSWORDS = {"WOD_APIDB_PASSWORD": "moderator-pw", "WOD_APIDB_ADMIN_PASSWORD": "admin-pw"}
API_DB, PORTAL = f"{NAME}-apidb", f"{NAME}-portal"
SOURCES = ("--data", f"WODAPIDBDIR={UPSTREAM}", "--data", f"WODFEDIR={PORTAL_SOURCE}")


class ApiDb:
    def __init__(self, host: hosts.TestHost):
        self.host = host
        self.url = f"http://127.0.0.1:{host.ports['api']}/api"

    def sh(self, command: str, check: bool = True):
        proc = subprocess.run(["docker", "exec", self.host.container, "sh", "-c", command], capture_output=True,
                              text=True)
        assert not check or proc.returncode == 0, f"{command}: {proc.stderr}"
        return proc

    def token(self) -> dict:
        login = requests.post(f"{self.url}/login", json={"username": S.WODAPIDBUSER,
                                                          "password": PASSWORDS["WOD_APIDB_PASSWORD"]}, timeout=10)
        return {"x-access-token": login.json()["accessToken"]}

    def register(self, email: str, notebook: str = "WKSHP-Test101") -> dict:
        """What upstream's portal posts (ScheduleCard): the workshop's fields and the person."""
        workshop = next(w for w in requests.get(f"{self.url}/workshops", timeout=10).json()
                        if w["notebook"] == notebook)
        posted = requests.post(f"{self.url}/customer", timeout=30, json={
            "name": "jane doe", "email": email, "company": "ACME", "title": workshop["name"],
            "notebook": workshop["notebook"], "sessionType": workshop["sessionType"],
            "location": workshop["location"], "termsAndConditions": True, "proxy": "wod"})
        assert posted.status_code == 200 and posted.text, posted.text
        return posted.json()

    def customers(self) -> list[dict]:
        return requests.get(f"{self.url}/customers", headers=self.token(), timeout=10).json()


RELAY: list[str] = []  # the participants' mail provider, as the backends' RELAYHOST (fixture `provider`)


def site_args(api_db: hosts.TestHost, *args: str) -> tuple[str, ...]:
    """The backends' WODAPIDBURL is derived from the inventory's api-db (plain HTTP here: the
    containers' network); their postfix relays the participants' mail to the provider."""
    return (*SOURCES, "--data", "WODAPIDB_ALLOW_HTTP=True", *(("--data", f"RELAYHOST={RELAY[0]}") if RELAY else ()),
            *args)


SITE_ENV = {"WOD_HOSTS": f"{NAME},{API_DB},{PORTAL}", **PASSWORDS}


def site(api_db: hosts.TestHost, *args: str, limit: str | None = None, env_extra: dict | None = None):
    """deploys/site.py on the backend, the api-db and the portal (or on `limit` among them)."""
    return pyinfra(*site_args(api_db, *args), deploy="deploys/site.py", limit=limit,
                   env={**SITE_ENV, **(env_extra or {})})


# The participant's mail provider: an SMTP server beside the hosts (Python's own smtpd, 3.11)
# that keeps every message it is handed, with the envelope's recipients on top
PROVIDER = r"""
import asyncore, itertools, pathlib, smtpd, warnings
warnings.simplefilter("ignore")
box, count = pathlib.Path("/tmp/mail"), itertools.count()
box.mkdir(exist_ok=True)
class Provider(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        (box / f"{next(count)}.eml").write_bytes(("X-Rcpt: " + ",".join(rcpttos) + "\n").encode() + data)
Provider(("0.0.0.0", 2525), None, decode_data=False)
asyncore.loop()
"""


@pytest.fixture(scope="module")
def provider():
    """Every participant's mail provider while the platform runs: the backends relay to it, so
    no mail of the api-db's waits in a backend's queue (which check reports)."""
    import docker

    from wod_deploy.testing.image import host_image

    client = docker.from_env()
    container = client.containers.run(host_image(client), ["python3", "-c", PROVIDER], entrypoint=[], detach=True,
                                      name=f"wod-{NAME}-provider", remove=True)
    container.reload()
    RELAY.append(f"[{container.attrs['NetworkSettings']['IPAddress']}]:2525")
    yield container
    RELAY.clear()
    container.kill()


@pytest.fixture(scope="module")
def apidb(backend, provider):
    for source in (UPSTREAM, PORTAL_SOURCE):
        assert (source / "package.json").is_file(), f"upstream's application is expected at {source}"
    host = hosts.up(role="api_db", name=API_DB)
    hosts.up(role="frontend", name=PORTAL)
    try:  # down even when the first converge fails: the next backend's inventory would derive an api-db
        results, _, seconds = site(host)
        assert results["results"]["failed_hosts"] == []
        timing("first converge of the api-db and frontend roles (with the backend, deploys/site.py)", seconds)
        yield ApiDb(host)
    finally:
        hosts.down(API_DB)
        hosts.down(PORTAL)
        pyinfra()  # the backend without its api-db


def test_a_registration_gets_a_student_logged_into_the_hub_within_2_minutes(backend, apidb):
    before = len(backend.lines(MAIL_LOG))
    start = time.monotonic()
    customer = apidb.register("jane.doe@hpe.com")
    while not (current := next(c for c in apidb.customers() if c["id"] == customer["id"]))["active"]:
        assert time.monotonic() - start < 120, f"not active after 2 minutes: {current}"
        time.sleep(2)
    timing("registration to an active customer (scheduler, CREATE, callbacks)", time.monotonic() - start)
    events = [json.loads(line) for line in backend.lines(MAIL_LOG)[before:]]
    create = next(e for e in events if e.get("action") == "CREATE")
    assert (create["outcome"], create["client"]) == ("done", apidb.host.address), create
    student = requests.get(f"{apidb.url}/students/{current['studentId']}", headers=apidb.token(), timeout=10).json()
    assert backend.login(student["username"], student["password"]).status_code == 302


def test_a_second_converge_changes_nothing_and_a_new_workshop_keeps_every_customer(backend, apidb, tmp_path):
    results, _, seconds = site(apidb.host)
    timing("no-change converge of the three roles (deploys/site.py)", seconds)
    assert changed(results) == []
    def rows() -> set:  # what makes a customer theirs (the scheduler updates the rest as it goes)
        return {(c["id"], c["email"], c["studentId"], c["createdAt"]) for c in apidb.customers()}

    customers = rows()
    assert customers
    catalogue = tmp_path / "workshops"
    shutil.copytree(ROOT / "tests/fixtures/workshops", catalogue)
    shutil.copytree(catalogue / "WKSHP-Test101", catalogue / "WKSHP-New101")
    meta = (catalogue / "WKSHP-New101" / "wod.yml")
    meta.write_text(meta.read_text().replace("Test101", "New101"))
    try:
        results, _, _ = site(apidb.host, "--data", f"WODNOBO={catalogue}")
        assert results["results"]["failed_hosts"] == []
        assert any(w["notebook"] == "WKSHP-New101" for w in requests.get(f"{apidb.url}/workshops", timeout=10).json())
        assert rows() == customers  # every customer, as it was
    finally:
        site(apidb.host)


def test_postgres_is_closed_to_the_backend_and_the_api_open(backend, apidb):
    probe = ("import socket, sys\n"
             "for port in (5432, int(sys.argv[2])):\n"
             "    try:\n"
             "        socket.create_connection((sys.argv[1], port), timeout=5).close(); print(port, 'open')\n"
             "    except OSError as e:\n"
             "        print(port, 'closed')\n")
    seen = backend.sh(f"python3 - {apidb.host.address} {S.WODAPIDBPORT}", stdin=probe).stdout.split("\n")
    assert seen[:2] == ["5432 closed", f"{S.WODAPIDBPORT} open"], seen
    listening = set(apidb.sh("ss -ltnH 'sport = :5432' | awk '{print $4}'").stdout.split())
    assert listening and listening <= {"127.0.0.1:5432", "[::1]:5432"}, listening


def test_the_api_db_port_is_closed_to_the_world_while_the_portal_proxies_it(backend, apidb, portal):
    """A client at an address of no backend nor portal (a fresh container beside them) cannot
    reach WODAPIDBPORT: browsers come through the portal's /api, with its rate limit."""
    import docker

    from wod_deploy.testing.image import host_image

    client = docker.from_env()
    probe = (f"import socket\ntry:\n    socket.create_connection(('{apidb.host.address}', {S.WODAPIDBPORT}), "
             "timeout=5).close(); print('open')\nexcept OSError:\n    print('closed')\n")
    seen = client.containers.run(host_image(client), ["python3", "-c", probe], entrypoint=[], remove=True)
    assert seen.decode().strip() == "closed"
    assert requests.get(portal_url(portal, "/api/workshops?active=true"), timeout=10).status_code == 200


def test_check_passes_on_the_three_hosts(backend, apidb, tmp_path):
    proc = wod_deploy("check", "inventories/docker.py", *site_args(apidb.host), "--json", str(tmp_path / "r.json"),
                      env={"WOD_HOSTS": f"{NAME},{API_DB},{PORTAL}", **PASSWORDS})
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert {c["host"] for c in report["checks"]} == {NAME, API_DB, PORTAL}
    baseline = {"packages", "admin", "system", "fail2ban", "firewall"}  # the shared baseline, on every role
    assert {c["id"].split(".")[0] for c in report["checks"] if c["host"] == API_DB} >= {
        "staging", "postgres", "apidb", *baseline}
    assert {c["id"].split(".")[0] for c in report["checks"] if c["host"] == PORTAL} >= {
        "staging", "portal", "nginx", *baseline}
    for host in (API_DB, PORTAL):  # each baseline item by name; nothing of the backend's participants
        named = {(c["id"], c["resource"]) for c in report["checks"] if c["host"] == host}
        assert {("admin.account", f"user {S.WODUSER}"), ("admin.file", f"/etc/sudoers.d/{S.WODUSER}"),
                ("system.file", "/etc/security/limits.d/wod.conf"), ("system.file", "/etc/cron.d/wod-upd"),
                ("system.service", "systemd-timesyncd.service"), ("fail2ban.service", "fail2ban.service"),
                ("fail2ban.file", "/etc/fail2ban/jail.local"), ("firewall.state", "ufw")} <= named, host
        assert not {r for _, r in named} & {"wod-watchdog.service", "/etc/sysctl.d/90-wod.conf"}, host


DRIFTS = [
    ("service-stopped", "systemctl stop wod-api-db", "apidb.service", "wod-api-db.service"),
    ("env-0644", "chmod 0644 /etc/wod-api-db/api-db.env", "apidb.env", "/etc/wod-api-db/api-db.env"),
    ("postgres-listening-everywhere", "runuser -u postgres -- psql -c \"ALTER SYSTEM SET listen_addresses = '*'\" "
     "&& systemctl restart postgresql", "postgres.listen", "listen_addresses"),
    # an inactive workshop's: the row comes back with a new id, and an active one's portal page would
    # stay at the old id until the portal's next build
    ("workshop-row-deleted", f"runuser -u postgres -- psql -d {S.WODPGDB} -c \"DELETE FROM workshops WHERE "
     "notebook = 'WKSHP-Reset101'\"", "apidb.rows", f"database {S.WODPGDB}"),
    # the shared baseline (issue 26)
    ("fail2ban-stopped", "systemctl stop fail2ban", "fail2ban.service", "fail2ban.service"),
    ("update-job-removed", "rm /etc/cron.d/wod-upd", "system.file", "/etc/cron.d/wod-upd"),
    ("backup-timer-stopped", "systemctl disable --now wod-api-db-backup.timer", "apidb_backup.service",
     "wod-api-db-backup.timer"),
]


@pytest.mark.parametrize("case,breakage,check_id,resource", DRIFTS, ids=[d[0] for d in DRIFTS])
def test_api_db_drift_is_named_then_repaired(backend, apidb, tmp_path, case, breakage, check_id, resource):
    args = ("inventories/docker.py", "--limit", API_DB, *site_args(apidb.host), "--json", str(tmp_path / "r.json"))
    env = SITE_ENV  # the whole platform: the api-db's firewall names its backends and portals
    proc = wod_deploy("check", *args, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    apidb.sh(breakage)
    proc = wod_deploy("check", *args, env=env)
    assert proc.returncode == 2, proc.stdout[-3000:]
    report = json.loads((tmp_path / "r.json").read_text())
    hit = [c for c in report["checks"] if (c["id"], c["resource"], c["status"]) == (check_id, resource, "drift")]
    assert hit, f"{case}: no drift on {check_id} {resource}: {[c for c in report['checks'] if c['status'] != 'pass']}"
    results, _, _ = site(apidb.host)
    assert results["results"]["failed_hosts"] == []
    assert wod_deploy("check", *args, env=env).returncode == 0, f"{case} not repaired"


def test_two_backends_get_ranges_0_and_5_and_a_registration_lands_on_each(backend, apidb):
    """USERMAX = 5 on two backends: BASESTDID 0 and 5 derived from the inventory's order, the same
    on each backend's handler and in the api-db's locations; a registration for the workshop's
    location lands on the first, and once an admin moves the workshop, on the second."""
    second = hosts.up(role="backend", name=f"{NAME}-b2")
    every = f"{NAME},{second.name},{API_DB}"
    run = site_args(apidb.host, "--data", "USERMAX=5")
    try:
        results, _, _ = pyinfra(*run, deploy="deploys/site.py", limit=None, env={"WOD_HOSTS": every, **PASSWORDS})
        assert results["results"]["failed_hosts"] == []
        handlers = [json.loads(subprocess.run(["docker", "exec", h.container, "cat", f"{S.etc_dir}/mailapi.json"],
                                              capture_output=True, text=True).stdout)["basestdid"]
                    for h in (backend.host, second)]
        assert handlers == [0, 5]
        places = {loc["name"]: loc["basestdid"] for loc in requests.get(f"{apidb.url}/locations", timeout=10).json()}
        assert (places[f"{NAME}.wod.test"], places[f"{second.name}.wod.test"]) == (0, 5)

        def lands(email: str, host) -> dict:
            log = f"{S.log_dir}/mail-api.log"
            lines = lambda: subprocess.run(["docker", "exec", host.container, "cat", log],  # noqa: E731
                                           capture_output=True, text=True).stdout.splitlines()
            before, customer = len(lines()), apidb.register(email)
            deadline = time.monotonic() + 120
            while not (events := [e for e in map(json.loads, lines()[before:])
                                  if e.get("action") == "CREATE" and e.get("customer") == customer["id"]]):
                assert time.monotonic() < deadline, f"no CREATE for {customer} on {host.name}"
                time.sleep(2)
            return {"customer": customer, "event": events[0]}

        first = lands("first.person@hpe.com", backend.host)
        assert first["event"]["student"] == f"student{first['customer']['studentId']}"
        admin = requests.post(f"{apidb.url}/login", json={"username": S.WODAPIDBADMIN,
                                                           "password": PASSWORDS["WOD_APIDB_ADMIN_PASSWORD"]},
                              timeout=10).json()["accessToken"]
        workshop = next(w for w in requests.get(f"{apidb.url}/workshops", timeout=10).json()
                        if w["notebook"] == "WKSHP-Test101")
        moved = requests.put(f"{apidb.url}/workshop/{workshop['id']}", json={"location": f"{second.name}.wod.test"},
                             headers={"x-access-token": admin}, timeout=10)
        assert moved.status_code == 200, moved.text
        other = lands("second.person@hpe.com", second)
        assert 6 <= other["customer"]["studentId"] <= 10
        assert other["event"]["student"] == f"student{other['customer']['studentId'] - 5}"
    finally:
        hosts.down(second.name)
        site(apidb.host)  # one backend again, at USERMAX's default; the workshop back at its location


# The portal: upstream's wod-frontend built for production, served by nginx, in a real browser.

@pytest.fixture(scope="module")
def portal(apidb) -> hosts.TestHost:
    return next(h for h in hosts.running() if h.name == PORTAL)


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium and its driver (Selenium never fetches a browser of its own here)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


def portal_url(portal: hosts.TestHost, path: str = "/") -> str:
    return f"http://127.0.0.1:{portal.ports['portal']}{path}"


def served_release(portal: hosts.TestHost) -> str:
    return subprocess.run(["docker", "exec", portal.container, "readlink", "/opt/wod-portal/current"],
                          capture_output=True, text=True).stdout.strip()


def test_the_portal_lists_the_workshops_the_api_db_serves(apidb, portal, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    workshops = requests.get(f"{apidb.url}/workshops?active=true", timeout=10).json()
    names = [w["name"] for w in workshops]
    assert len(names) >= 2, names
    # each its page, made by the first converge's build: the portal's role ran after the api-db's
    made = subprocess.run(["docker", "exec", portal.container, "ls", "/opt/wod-portal/current/workshop"],
                          capture_output=True, text=True).stdout.split()
    for workshop in workshops:
        page = requests.get(portal_url(portal, f"/workshop/{workshop['id']}/"), timeout=10)
        assert page.status_code == 200 and workshop["name"] in page.text, (
            workshop["name"], workshop["id"], page.status_code, f"pages made: {made}",
            [(w["id"], w["name"], w["updatedAt"]) for w in workshops])
    browser.get(portal_url(portal))
    text = lambda d: d.find_element(By.TAG_NAME, "body").text  # noqa: E731
    try:
        WebDriverWait(browser, 60).until(lambda d: all(name in text(d) for name in names))
        # web fonts from the internet never come here: let the browser give up on them first
        WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.fonts.status") == "loaded")
        time.sleep(3)
    finally:
        (ROOT / ".wod").mkdir(exist_ok=True)
        browser.save_screenshot(str(ROOT / ".wod" / "portal.png"))  # for people to look at
    # the list came from the api-db through the portal's own origin
    assert browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"
                                  ".filter(n => n.includes('/api/workshops')).length") > 0


def test_registering_in_the_portal_form_logs_a_student_into_the_hub(backend, apidb, portal, browser):
    """The whole WoD path: the portal's own form, the api-db, a CREATE on the backend, a hub login."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    workshop = next(w for w in requests.get(f"{apidb.url}/workshops", timeout=10).json()
                    if w["notebook"] == "WKSHP-Test101")
    email = "portal.person@hpe.com"
    before = len(backend.lines(MAIL_LOG))
    browser.get(portal_url(portal))
    wait = WebDriverWait(browser, 60)
    register = wait.until(ec.element_to_be_clickable((By.XPATH, (
        f"//*[normalize-space(text())={json.dumps(workshop['name'])}]/ancestor::*"
        "[.//button[normalize-space()='Register']][1]//button[normalize-space()='Register']"))))
    register.click()
    for field, value in (("email", email), ("name", "Portal Person"), ("company", "ACME")):
        wait.until(ec.visibility_of_element_located((By.NAME, field))).send_keys(value)
    browser.find_element(By.XPATH, "//input[@name='termsAndConditions']/following-sibling::*|"
                                   "//input[@name='termsAndConditions']/..").click()
    browser.find_element(By.XPATH, "//button[normalize-space()='Register for the Workshop']").click()
    start = time.monotonic()
    while not (mine := [c for c in apidb.customers() if c["email"] == email and c["active"]]):
        assert time.monotonic() - start < 120, f"{email} not active after 2 minutes"
        time.sleep(2)
    timing("portal form to an active customer", time.monotonic() - start)
    events = [json.loads(line) for line in backend.lines(MAIL_LOG)[before:]]
    assert any(e.get("action") == "CREATE" and e.get("customer") == mine[0]["id"] for e in events), events
    student = requests.get(f"{apidb.url}/students/{mine[0]['studentId']}", headers=apidb.token(), timeout=10).json()
    assert backend.login(student["username"], student["password"]).status_code == 302


def test_nginx_compresses_caches_hashed_assets_and_sends_security_headers(portal):
    page = requests.get(portal_url(portal), headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Encoding"] == "gzip"
    assert page.headers["Cache-Control"] == "public, max-age=0, must-revalidate"
    for header, value in (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                          ("Referrer-Policy", "strict-origin-when-cross-origin")):
        assert page.headers.get(header) == value, header
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "nginx/" not in page.headers.get("Server", "")  # no version
    bundle = next(p for p in page.text.split('"') if p.startswith("/app-") and p.endswith(".js"))
    asset = requests.get(portal_url(portal, bundle), timeout=10)
    assert asset.status_code == 200 and "immutable" in asset.headers["Cache-Control"], asset.headers
    assert asset.headers.get("X-Frame-Options") == "DENY"
    route = requests.get(portal_url(portal, "/workshops/"), timeout=10)  # a page of the client-side router
    assert route.status_code == 200 and "<html" in route.text
    missing = requests.get(portal_url(portal, "/no/such/page"), timeout=10)
    assert missing.status_code == 404 and "couldn" in missing.text  # the portal's 404 page, with 404
    api = requests.get(portal_url(portal, "/api/workshops?active=true"), timeout=10)  # one origin
    assert api.status_code == 200 and api.json()


def test_a_source_change_rebuilds_once_and_a_broken_build_keeps_the_site_served(apidb, portal, tmp_path):
    source = tmp_path / "wod-frontend"
    shutil.copytree(PORTAL_SOURCE, source)
    source.chmod(0o755)
    page = source / "src" / "pages" / "workshop-terms-conditions" / "index.js"
    page.chmod(0o644)
    page.write_text(page.read_text() + "\n// a change of ours\n")
    before = served_release(portal)
    try:
        results, _, seconds = site(apidb.host, "--data", f"WODFEDIR={source}", limit=PORTAL)
        assert [n for n in changed(results) if "build" in n.lower()], changed(results)
        timing("portal rebuild after a source change (deploys/site.py)", seconds)
        rebuilt = served_release(portal)
        assert rebuilt != before
        again, _, _ = site(apidb.host, "--data", f"WODFEDIR={source}", limit=PORTAL)
        assert changed(again) == []  # once
        page.write_text(page.read_text() + "\nconst broken = ;\n")
        proc = subprocess.run([sys.executable, "-m", "pyinfra", "inventories/docker.py", "deploys/site.py", "-y",
                               *site_args(apidb.host, "--data", f"WODFEDIR={source}"), "--limit", PORTAL], cwd=ROOT,
                              capture_output=True, text=True, timeout=900, env={**os.environ, **SITE_ENV})
        assert proc.returncode != 0
        # the build's own error, naming the file
        assert "the build failed" in proc.stderr and "workshop-terms-conditions/index.js" in proc.stderr, \
            proc.stderr[-5000:]
        assert served_release(portal) == rebuilt
        assert requests.get(portal_url(portal), timeout=10).status_code == 200
    finally:
        site(apidb.host, limit=PORTAL)
    assert served_release(portal) != rebuilt


PORTAL_DRIFTS = [
    ("nginx-stopped", "systemctl stop nginx", "nginx.service", "nginx.service"),
    ("built-file-changed", "echo defaced >> /opt/wod-portal/current/index.html", "portal.release",
     "/opt/wod-portal/current"),
    ("site-config-edited", "sed -i 's/server_tokens off/server_tokens on/' /etc/nginx/conf.d/wod-portal.conf",
     "nginx.file", "/etc/nginx/conf.d/wod-portal.conf"),
    # the shared baseline (issue 26)
    ("sudoers-removed", f"rm /etc/sudoers.d/{S.WODUSER}", "admin.file", f"/etc/sudoers.d/{S.WODUSER}"),
    ("http-jail-filter-edited", "echo '# nothing' >> /etc/fail2ban/filter.d/wod-portal-4xx.conf", "fail2ban.file",
     "/etc/fail2ban/filter.d/wod-portal-4xx.conf"),
]


@pytest.mark.parametrize("case,breakage,check_id,resource", PORTAL_DRIFTS, ids=[d[0] for d in PORTAL_DRIFTS])
def test_portal_drift_is_named_then_repaired(apidb, portal, tmp_path, case, breakage, check_id, resource):
    args = ("inventories/docker.py", "--limit", PORTAL, *site_args(apidb.host), "--json", str(tmp_path / "r.json"))
    env = SITE_ENV
    assert wod_deploy("check", *args, env=env).returncode == 0
    subprocess.run(["docker", "exec", portal.container, "sh", "-c", breakage], check=True)
    proc = wod_deploy("check", *args, env=env)
    assert proc.returncode == 2, proc.stdout[-3000:]
    report = json.loads((tmp_path / "r.json").read_text())
    hit = [c for c in report["checks"] if (c["id"], c["resource"], c["status"]) == (check_id, resource, "drift")]
    assert hit, f"{case}: no drift on {check_id} {resource}: {[c for c in report['checks'] if c['status'] != 'pass']}"
    results, _, _ = site(apidb.host, limit=PORTAL)
    assert results["results"]["failed_hosts"] == []
    assert wod_deploy("check", *args, env=env).returncode == 0, f"{case} not repaired"
    assert "defaced" not in requests.get(portal_url(portal), timeout=10).text


def as_account(host: hosts.TestHost, user: str, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", "-u", user, host.container, "sh", "-c", command], capture_output=True,
                          text=True)


def test_the_portals_build_account_cannot_make_root_publish_a_root_only_file(apidb, portal):
    """wodfe leaves a process behind (as an npm install script can) that keeps swapping a page of
    its build for a link to a root-only file, and a directory for a link to /root. Root
    republishes (the served release was defaced): the process is ended first, and the release
    holds nothing wodfe could not read, and no link."""
    public = "/var/lib/wodfe/build/public"
    as_account(portal, "root", "umask 077 && mkdir -p /root/d && echo root-only-7f3a | tee /root/secret.html "
                               "> /root/d/x.html")
    swap = (f"cd {public} && mkdir -p d && while :; do ln -sfn /root/secret.html l.tmp && mv -T l.tmp page.html; "
            "echo mine > p.tmp && mv -T p.tmp page.html; mv -T d d.real; ln -sfn /root/d d; rm d; mv -T d.real d; done")
    assert as_account(portal, "wodfe", f"nohup sh -c '{swap}' >/dev/null 2>&1 & sleep 1; pgrep -u wodfe").stdout
    as_account(portal, "root", "echo defaced >> /opt/wod-portal/current/index.html")
    try:
        results, _, _ = site(apidb.host, limit=PORTAL)
        assert results["results"]["failed_hosts"] == []
        assert as_account(portal, "root", "pgrep -a -u wodfe").stdout == ""
        release = served_release(portal)
        assert as_account(portal, "root", f"grep -rl root-only-7f3a {release}/ || true").stdout == ""
        assert as_account(portal, "root", f"find {release} ! -type f ! -type d").stdout == ""
    finally:
        as_account(portal, "root", f"pkill -KILL -u wodfe; cd {public} && rm -rf d d.real page.html l.tmp p.tmp "
                                   "/root/d /root/secret.html; echo defaced >> /opt/wod-portal/current/index.html")
        site(apidb.host, limit=PORTAL)


def test_the_api_db_is_built_by_an_account_of_its_own_and_root_takes_only_what_it_reads(apidb, tmp_path):
    """A source change rebuilds the api-db as wodapi-build (npm's tree is its own), which left a
    process behind and links to the host's secrets among its modules: the process is ended before
    root takes the build, and the app holds no link but its .env, and no secret of the host."""
    builder, work, app = "wodapi-build", "/var/lib/wodapi-build/build", "/opt/wod-api-db/app"
    assert apidb.sh(f"stat -c %U {work}/node_modules {work}/dist").stdout.split() == [builder, builder]
    as_account(apidb.host, builder, f"cd {work}/node_modules && ln -sfn /etc/wod-api-db/jwt.secret leak.js && "
                                    "ln -sfn /etc/wod-api-db leakdir && (nohup sleep 600 >/dev/null 2>&1 &)")
    assert as_account(apidb.host, "root", f"pgrep -u {builder}").stdout
    source = tmp_path / "wod-api-db"
    shutil.copytree(UPSTREAM, source, ignore=shutil.ignore_patterns("node_modules", ".git"))
    source.chmod(0o755)
    (source / "README.md").write_text((UPSTREAM / "README.md").read_text() + "\na change of ours\n")
    try:
        results, _, seconds = site(apidb.host, "--data", f"WODAPIDBDIR={source}", limit=API_DB)
        assert [n for n in changed(results) if "Build (as wodapi-build" in n], changed(results)
        timing("api-db rebuild after a source change, as wodapi-build (deploys/site.py)", seconds)
        assert as_account(apidb.host, "root", f"pgrep -a -u {builder}").stdout == ""
        # the planted links are gone; npm's own (.bin/) resolve inside the app; .env is ours
        escaping = ("case \"$(readlink -f \"$1\")\" in " + app + "/*) ;; *) echo \"$1\";; esac")
        assert apidb.sh(f"find {app} -type l -exec sh -c '{escaping}' _ {{}} \\;").stdout.split() == [f"{app}/.env"]
        assert apidb.sh(f"ls {app}/node_modules/leak.js {app}/node_modules/leakdir", check=False).returncode != 0
        secret = apidb.sh("cat /etc/wod-api-db/jwt.secret").stdout.strip()
        assert len(secret) >= 32 and apidb.sh(f"grep -rlF {secret} {app}/ || true").stdout == ""
        assert requests.get(f"{apidb.url}/workshops", timeout=10).status_code == 200
    finally:
        apidb.sh(f"rm -f {work}/node_modules/leak.js {work}/node_modules/leakdir")
        site(apidb.host, limit=API_DB)


# An audit wrapper: each program a root shell finds on sudo's PATH (/usr/local/sbin first) is this
# script, which records its argv as any local account would read it in /proc, then runs it
AUDIT = r"""#!/bin/sh
{ printf '%s\036' "${0##*/}" "$@"; printf '\035'; } >> /run/wod-argv.log
for d in /usr/sbin /usr/bin /sbin /bin; do [ -x "$d/${0##*/}" ] && exec "$d/${0##*/}" "$@"; done
exit 127
"""


def test_no_secret_is_on_a_command_line_during_a_converge_or_a_check(apidb):
    """Every argv of a converge and a check of the api-db host recorded: none holds the JWT
    secret, the database password or the api-db users' passwords."""
    subprocess.run(["docker", "exec", "-i", apidb.host.container, "sh", "-c",
                    "cat > /usr/local/lib/wod-argv-audit && chmod 0755 /usr/local/lib/wod-argv-audit && "
                    "install -m 0666 /dev/null /run/wod-argv.log && for p in /usr/bin/* /usr/sbin/*; do "
                    "[ -x \"$p\" ] && [ ! -e \"/usr/local/sbin/${p##*/}\" ] && "
                    "ln -s /usr/local/lib/wod-argv-audit \"/usr/local/sbin/${p##*/}\"; done; true"],
                   input=AUDIT, text=True, check=True)
    try:
        results, _, _ = site(apidb.host, limit=API_DB)
        assert results["results"]["failed_hosts"] == []
        proc = wod_deploy("check", "inventories/docker.py", "--limit", API_DB, *site_args(apidb.host), env=SITE_ENV)
        assert proc.returncode == 0, proc.stdout[-3000:]
    finally:
        apidb.sh("find /usr/local/sbin -lname /usr/local/lib/wod-argv-audit -delete")
    argvs = [record.split("\036")[:-1] for record in apidb.sh("cat /run/wod-argv.log").stdout.split("\035") if record]
    assert any(a[0] == "grep" and "-f" in a for a in argvs), "the env file's secrets were not compared"
    secrets = {"the JWT secret": apidb.sh("cat /etc/wod-api-db/jwt.secret").stdout.strip(),
               "the database password": apidb.sh("cat /etc/wod-api-db/postgres.secret").stdout.strip(),
               **{f"${k}": v for k, v in PASSWORDS.items()}}
    assert all(len(v) >= 8 for v in secrets.values()), secrets.keys()
    seen = {name: [a[:3] for a in argvs if any(value in arg for arg in a)] for name, value in secrets.items()}
    assert not any(seen.values()), seen


def mailbox(container, recipient: str) -> list[str]:
    out = subprocess.run(["docker", "exec", container.name, "sh", "-c", "cat /tmp/mail/*.eml 2>/dev/null; true"],
                         capture_output=True, text=True).stdout
    return [m for m in out.split("X-Rcpt: ")[1:] if m.startswith(recipient)]


def test_the_participants_login_reaches_their_mailbox_and_logs_them_in(backend, apidb, provider):
    """A registration as upstream's portal makes it: the api-db sends the welcome and the
    credentials through the backend's postfix (no SendGrid), which hands them to the provider;
    the user name and password in the mail log into the hub."""
    import re

    email = f"mailbox-{int(time.time())}@example.org"
    apidb.register(email)
    deadline = time.monotonic() + 180
    while not (found := [m for m in mailbox(provider, email) if "Password:" in m]):
        assert time.monotonic() < deadline, f"no credentials mail for {email}: {mailbox(provider, email)}"
        time.sleep(3)
    timing("registration to the credentials mail in the participant's mailbox", 180 - (deadline - time.monotonic()))
    user = re.search(r"User Name: (student[0-9]+)", found[0]).group(1)
    password = re.search(r"Password: ([A-Za-z0-9]+)", found[0]).group(1)
    assert backend.login(user, password).status_code == 302
    assert any("welcome" in m.lower() for m in mailbox(provider, email))
    assert '"deferred"' not in backend.sh("postqueue -j").stdout  # nothing waits


def test_no_participant_relays_a_mail_through_the_backend(backend, apidb, provider):
    """By SMTP from the backend itself, or with sendmail: refused; the provider gets nothing."""
    attack = ("import smtplib\n"
              f"with smtplib.SMTP('127.0.0.1', {S.POSTPORT}, timeout=20) as s:\n"
              "    try:\n"
              f"        s.sendmail('{S.WODSENDER}', ['victim@example.org'], 'Subject: hi\\n\\nspam')\n"
              "        print('accepted')\n"
              "    except smtplib.SMTPRecipientsRefused as e:\n"
              "        print('refused')\n")
    assert backend.sh("python3 -", user="student7", stdin=attack).stdout.strip() == "refused"
    sent = backend.sh("printf 'Subject: hi\\n\\nspam\\n' | /usr/sbin/sendmail victim@example.org", user="student7",
                      check=False)
    assert sent.returncode != 0
    time.sleep(5)
    assert mailbox(provider, "victim@example.org") == []


def test_a_sendgrid_key_from_the_environment_reaches_the_api_db_and_stays(apidb):
    """WODSENDGRIDAPIKEY from the deploying environment: in the api-db's environment (0600), kept by
    a converge without it, and `None` (upstream's unset: mail through the backends) when given so."""
    env_file = "/etc/wod-api-db/api-db.env"
    try:
        site(apidb.host, limit=API_DB, env_extra={"WODSENDGRIDAPIKEY": "SG.not-a-real-key"})
        assert "WODSENDGRIDAPIKEY=SG.not-a-real-key" in apidb.sh(f"cat {env_file}").stdout
        results, _, _ = site(apidb.host, limit=API_DB)  # without it: kept, nothing changes
        assert changed(results) == [] and "SG.not-a-real-key" in apidb.sh(f"cat {env_file}").stdout
    finally:
        site(apidb.host, limit=API_DB, env_extra={"WODSENDGRIDAPIKEY": "None"})
    assert "WODSENDGRIDAPIKEY=None" in apidb.sh(f"cat {env_file}").stdout
    assert requests.get(f"{apidb.url}/workshops", timeout=10).status_code == 200


# The slot's end, as upstream's scheduler drives it (modules/CheckCustomers, every 20 s, unchanged):
# time is moved by editing a customer's dates in PostgreSQL, as the clock would move it.

def psql(apidb: ApiDb, sql: str) -> str:
    return apidb.sh(f"runuser -u postgres -- psql -d {S.WODPGDB} -tAc {shlex.quote(sql)}").stdout.strip()


# upstream's modules/Email sendPostfixEmail, from the api-db host: the whole dialogue before the banner
SEND = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
s.sendall(sys.stdin.buffer.read())
s.recv(4096)
s.close()
"""


def api_db_mail(backend, apidb: ApiDb, subject: str, body: str) -> None:
    from bench.room import dialogue

    raw = dialogue(f"{NAME}.wod.test", subject, body).decode()
    subprocess.run(["docker", "exec", "-i", apidb.host.container, "python3", "-c", SEND, backend.host.address,
                    str(S.POSTPORT)], input=raw, capture_output=True, text=True, timeout=60, check=True)


def test_three_slots_end_as_upstreams_scheduler_ends_them_and_their_students_serve_again(backend, apidb, provider):
    """At once, as a day runs: a participant to the end of a slot (credentials, their files and
    key, expiring, expired: CLEANUP), one in a `reset: true` workshop (CLEANUP keeps the home
    until `RESET [object Promise]`), and one stuck in welcome (a CREATE that fails: after 10
    minutes CLEANUP, the error mail, `PURGE [object Promise]`, and their new registration gets
    the slot the first one freed)."""
    plain, resets, broken = "WKSHP-Test101", "WKSHP-Reset101", "WKSHP-Broken101"
    for notebook in (resets, broken):  # the admin opens them: their wod.yml gives no capacity
        psql(apidb, f"UPDATE workshops SET capacity = 5, active = true WHERE notebook = '{notebook}'")
    sent = lambda cid: psql(apidb, f'SELECT "lastEmailSent" FROM customers WHERE id = {cid}')  # noqa: E731
    student = lambda sid: requests.get(f"{apidb.url}/students/{sid}", headers=apidb.token(), timeout=10).json()  # noqa: E731
    day, mine = int(time.time()), len(backend.lines(MAIL_LOG))  # the log holds other tests' customer ids too
    emails = {nb: f"slot-{nb.lower()}-{day}@example.org" for nb in (plain, resets, broken)}
    customers = {nb: apidb.register(email, notebook=nb) for nb, email in emails.items()}
    cid = {nb: c["id"] for nb, c in customers.items()}
    sid = {nb: c["studentId"] for nb, c in customers.items()}
    user = {nb: f"student{n}" for nb, n in sid.items()}  # BASESTDID 0: the api-db's id is the backend's number

    def events(nb: str) -> list[dict]:
        return [e for e in map(json.loads, backend.lines(MAIL_LOG)[mine:]) if e.get("customer") == cid[nb]]

    def state() -> str:  # what a failure needs to be understood: both sides of each slot
        rows = psql(apidb, 'SELECT id, "lastEmailSent", active, "studentId", "endDate" FROM customers WHERE id IN '
                           f"({','.join(map(str, cid.values()))})")
        scheduler = apidb.sh("journalctl -u wod-api-db --no-pager -n 60 | grep -iv 'executing' | tail -25",
                             check=False).stdout
        return (f"customers: {rows}\nbackend events: {[events(nb) for nb in cid]}\n"
                f"mail-api log tail: {backend.lines(MAIL_LOG)[-8:]}\napi-db: {scheduler}")

    for nb in (plain, resets):
        waited(f"{nb}'s credentials", lambda nb=nb: sent(cid[nb]) == "credentials", state=state)
    waited("the failed CREATE", lambda: [e for e in events(broken) if e["outcome"] != "done"], state=state)
    assert sent(cid[broken]) == "welcome"
    password = student(sid[plain])["password"]
    assert backend.login(user[plain], password).status_code == 302
    for nb in (plain, resets):  # the participants work, and one leaves a key of theirs
        backend.sh(f"echo mine > ~/{nb}/notes.txt", user=user[nb])
    backend.plant_key(user[plain])
    assert backend.ssh_login(user[plain]), "the planted key does not log in during the slot: the test proves nothing"

    # an hour left, then none; the stuck registration 11 minutes old
    psql(apidb, f"UPDATE customers SET \"startDate\" = now() - interval '11 minutes' WHERE id = {cid[broken]}")
    for nb in (plain, resets):
        psql(apidb, f"UPDATE customers SET \"endDate\" = now() + interval '30 minutes' WHERE id = {cid[nb]}")
        waited(f"{nb} expiring", lambda nb=nb: sent(cid[nb]) == "expiring", state=state)
    expired = time.monotonic()
    for nb in (plain, resets):
        psql(apidb, f"UPDATE customers SET \"endDate\" = now() - interval '1 minute' WHERE id = {cid[nb]}")
    done = lambda nb, action: [e for e in events(nb) if e.get("action") == action and e["outcome"] == "done"]  # noqa: E731
    waited("the first slot free", lambda: done(plain, "CLEANUP") and not student(sid[plain])["assigned"], state=state)
    timing("expiry to the slot free (upstream's scheduler: its CLEANUP, our callbacks)", time.monotonic() - expired)
    waited(f"{resets}'s CLEANUP", lambda: done(resets, "CLEANUP"), state=state)
    for action in ("CLEANUP", "PURGE"):  # the stuck one: CLEANUP, the error mail, `PURGE [object Promise]`
        waited(f"{broken}'s {action}", lambda action=action: done(broken, action), state=state)
    # At expiry upstream's chain stops at its own ReferenceError (`badgeImg`, in the expired mail),
    # before sendResetMail and sendPurgeMail: its CLEANUP alone ends the slot (no PURGE, no RESET,
    # no capacity given back, no expired mail), so CLEANUP leaves it ended.
    assert "badgeImg is not defined" in apidb.sh("journalctl -u wod-api-db --no-pager", check=False).stdout

    # the ended slot: nothing of the participant's is left, nor any way in; the api-db has it free
    assert done(plain, "CLEANUP")[0]["completion"] == 0
    assert backend.sh(f"test -e ~/{plain}/notes.txt", user=user[plain], check=False).returncode != 0
    assert backend.login(user[plain], password).status_code != 302 and not backend.ssh_login(user[plain])
    assert student(sid[plain])["password"] != password
    assert sent(cid[plain]) == "expired"
    assert psql(apidb, f"SELECT active FROM customers WHERE id = {cid[plain]}") == "f"
    # the reset workshop keeps the home and its student until the RESET; closed meanwhile
    assert backend.sh(f"test -e ~/{resets}/notes.txt", user=user[resets], check=False).returncode == 0
    assert student(sid[resets])["assigned"] and not backend.ssh_login(user[resets])
    # ... which upstream would mail as `RESET [object Promise] <customer>`: those bytes, from the api-db host
    api_db_mail(backend, apidb, f"RESET [object Promise] {cid[resets]}", resets)
    reset = waited(f"{resets}'s RESET", lambda: done(resets, "RESET"), state=state)[0]
    assert reset["student"] == user[resets] and reset["student_from"].startswith(f"customer {cid[resets]}'s ")
    assert backend.sh(f"test -e ~/{resets}/notes.txt", user=user[resets], check=False).returncode != 0
    waited("the reset student free", lambda: not student(sid[resets])["assigned"], state=state)
    assert done(broken, "PURGE")[0]["student"] == user[broken]  # found from its failed CREATE
    assert sent(cid[broken]) == "error"
    waited("the stuck participant's error mail", lambda: [m for m in mailbox(provider, emails[broken])
                                                           if "Deployment Issue" in m])

    # the stuck participant registers again, and gets the slot the first one freed
    held = psql(apidb, "WITH held AS (UPDATE students SET assigned = true WHERE assigned = false AND id <> "
                       f"{sid[plain]} RETURNING id) SELECT id FROM held").split()
    try:
        again = apidb.register(emails[broken])
    finally:
        psql(apidb, f"UPDATE students SET assigned = false WHERE id IN ({','.join(held) or '0'})")
    assert again["studentId"] == sid[plain], again
    waited("the new registration's credentials", lambda: sent(again["id"]) == "credentials", state=state)
    assert backend.login(user[plain], student(sid[plain])["password"]).status_code == 302


# ---- Jails for what each role exposes (issue 26, point 2) ----

def api_reachable(apidb) -> bool:
    try:
        requests.get(f"{apidb.url}/workshops", timeout=5)
        return True
    except requests.RequestException:
        return False


def test_failed_api_logins_get_the_client_banned_and_never_the_portal(backend, apidb, portal):
    """The test process (an APIDB_CLIENTS address, the Docker gateway) fails /api/login directly
    and is banned from WODAPIDBPORT; the same failures through the portal name the portal, one of
    the platform's hosts, which is never banned: browsers keep the api-db through it."""
    client, wrong = apidb.host.gateway, {"username": S.WODAPIDBUSER, "password": "not-the-password"}
    apidb.sh(f"fail2ban-client set wod-api-db unbanip {client}", check=False)
    try:
        for _ in range(S.F2B_MAXRETRY + 1):
            assert requests.post(portal_url(portal, "/api/login"), json=wrong, timeout=10).status_code == 401
        assert api_reachable(apidb)  # what the portal forwarded banned no one
        for body in [{**wrong, "username": "nobody"}, *[wrong] * S.F2B_MAXRETRY]:  # 404 and 401 both count
            try:
                assert requests.post(f"{apidb.url}/login", json=body, timeout=10).status_code in (401, 404)
            except requests.RequestException:
                break
        waited("fail2ban banning the client", lambda: not api_reachable(apidb), timeout=30, every=1)
        banned = apidb.sh("fail2ban-client get wod-api-db banned").stdout
        assert client in banned and portal.address not in banned, banned
        logged = apidb.sh("journalctl -u wod-api-db -o cat | grep 'wod-auth: login failed from'").stdout
        assert f"from {client}" in logged and f"from {portal.address}" in logged, logged
        assert requests.get(portal_url(portal, "/api/workshops?active=true"), timeout=10).status_code == 200
    finally:
        apidb.sh(f"fail2ban-client set wod-api-db unbanip {client}", check=False)
    waited("access back once unbanned", lambda: api_reachable(apidb), timeout=15, every=1)


# a client beside the hosts: `n` requests to `url`, then whether the portal's front page still answers it
FLOOD = r"""
import sys, time, urllib.error, urllib.request
url, n, front = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def get(u):
    try:
        return urllib.request.urlopen(u, timeout=3).status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0
codes = [get(url) for _ in range(n)]
print(" ".join(str(c) for c in sorted(set(codes))))
deadline = time.monotonic() + 40
while get(front) and time.monotonic() < deadline:
    time.sleep(1)
print("banned" if not get(front) else "served")
"""


def flood(portal: hosts.TestHost, path: str, n: int) -> tuple[str, list[str]]:
    """FLOOD from a fresh container (the test process's own address must stay served): its address
    and what it printed; the address is unbanned from both portal jails after."""
    import docker

    from wod_deploy.testing.image import host_image

    base = f"http://{portal.address}:{S.WODFEPORT}"
    client = docker.from_env()
    container = client.containers.run(host_image(client), ["python3", "-c", FLOOD, base + path, str(n), base + "/"],
                                      entrypoint=[], detach=True)
    try:
        container.reload()
        address = container.attrs["NetworkSettings"]["IPAddress"]
        container.wait(timeout=300)
        return address, container.logs().decode().split("\n")
    finally:
        container.remove(force=True)


def unban(portal: hosts.TestHost, address: str) -> None:
    for jail in ("wod-portal-limit", "wod-portal-4xx"):
        subprocess.run(["docker", "exec", portal.container, "fail2ban-client", "set", jail, "unbanip", address],
                       capture_output=True)


def portal_banned(portal: hosts.TestHost, jail: str) -> str:
    return subprocess.run(["docker", "exec", portal.container, "fail2ban-client", "get", jail, "banned"],
                          capture_output=True, text=True).stdout


@pytest.mark.parametrize("jail,path,n,answers", [
    ("wod-portal-4xx", "/no-such-page", S.F2B_HTTP_MAXRETRY + 2, "404"),  # the portal's own 404 page
    ("wod-portal-limit", "/api/workshops?active=true", 80, "200 503"),  # past the burst: refused
], ids=["repeated-4xx", "rate-limit-refusals"])
def test_a_client_flooding_the_portal_is_banned_and_the_others_are_served(apidb, portal, jail, path, n, answers):
    for _ in range(3):  # a few 404s of its own: below the jail's count
        assert requests.get(portal_url(portal, "/no-such-page"), timeout=10).status_code == 404
    address = None
    try:
        address, printed = flood(portal, path, n)
        # what it got before the ban (then nothing: 0), and banned
        assert set(printed[0].split()) - {"0"} == set(answers.split()) and printed[1] == "banned", printed
        banned = portal_banned(portal, jail)
        assert address in banned and portal.gateway not in banned, banned
        assert requests.get(portal_url(portal), timeout=10).status_code == 200  # the test process: served
    finally:
        if address:
            unban(portal, address)

# TLS on the portal: a CA made for this run alone (no key is ever committed), its certificate for
# 127.0.0.1, as WODFE_TLS_CERT and WODFE_TLS_KEY.

def tls_pair(directory) -> tuple:
    """(CA file, certificate file, key file, the key's SPKI sha256 in base64) made now."""
    import base64
    import datetime
    import hashlib
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("wod-deploy test CA")).issuer_name(name("wod-deploy test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    files = {"ca.pem": ca.public_bytes(pem), "portal.pem": cert.public_bytes(pem),
             "portal.key": key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())}
    for file, content in files.items():
        (directory / file).write_bytes(content)
    (directory / "portal.key").chmod(0o600)
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return (directory / "ca.pem", directory / "portal.pem", directory / "portal.key",
            base64.b64encode(hashlib.sha256(spki).digest()).decode())




def tls_version(port: int, newest) -> str | None:
    """The version a client offering nothing newer than `newest` gets, None when refused."""
    import socket
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.minimum_version, context.maximum_version = ssl.TLSVersion.TLSv1, newest
    context.set_ciphers("ALL:@SECLEVEL=0")  # the client would: what counts is what nginx accepts
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                context.wrap_socket(raw) as tls:
            return tls.version()
    except (ssl.SSLError, ConnectionResetError):
        return None


def test_the_portal_over_https_with_http_redirected_and_old_tls_refused(apidb, portal, tmp_path):
    """WODFE_TLS_CERT/WODFE_TLS_KEY: HTTPS on WODFEPORT (TLS 1.2 and 1.3, HSTS), plain HTTP to it
    redirected, the key root's 0600, `check` compliant, a second converge changes nothing, and a
    browser trusting that key alone loads the portal and its workshops over HTTPS. Without the pair
    again: plain HTTP, and no key left on the host."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    ca, cert, key, spki = tls_pair(tmp_path)
    pair = ("--data", f"WODFE_TLS_CERT={cert}", "--data", f"WODFE_TLS_KEY={key}")
    port = portal.ports["portal"]
    https = f"https://127.0.0.1:{port}"
    try:
        results, _, _ = site(apidb.host, *pair, limit=PORTAL)
        assert results["results"]["failed_hosts"] == []
        again, _, _ = site(apidb.host, *pair, limit=PORTAL)
        assert changed(again) == []
        page = requests.get(f"{https}/", verify=str(ca), timeout=10)
        assert page.status_code == 200 and "<html" in page.text
        assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert requests.get(f"{https}/api/workshops?active=true", verify=str(ca), timeout=10).json()
        plain = requests.get(portal_url(portal, "/workshops/?from=plain"), allow_redirects=False, timeout=10)
        assert (plain.status_code, plain.headers.get("Location")) == (301, f"{https}/workshops/?from=plain")
        import ssl
        assert tls_version(port, ssl.TLSVersion.TLSv1_1) is None
        assert tls_version(port, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
        assert tls_version(port, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
        held = subprocess.run(["docker", "exec", portal.container, "stat", "-c", "%U:%G %a",
                               "/etc/nginx/wod-portal.key"], capture_output=True, text=True).stdout.strip()
        assert held == "root:root 600"
        proc = wod_deploy("check", "inventories/docker.py", "--limit", PORTAL, *site_args(apidb.host, *pair),
                          env=SITE_ENV)
        assert proc.returncode == 0, proc.stdout[-3000:]

        # the browser trusts this key only (Chromium's SPKI pin), not every certificate
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                    f"--user-data-dir={tmp_path / 'chromium'}", f"--ignore-certificate-errors-spki-list={spki}"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            names = [w["name"] for w in requests.get(f"{apidb.url}/workshops?active=true", timeout=10).json()]
            driver.get(portal_url(portal))  # plain HTTP: sent on to HTTPS
            text = lambda d: d.find_element(By.TAG_NAME, "body").text  # noqa: E731
            WebDriverWait(driver, 60).until(lambda d: all(name in text(d) for name in names))
            assert driver.execute_script("return location.origin") == https
            assert driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"
                                         f".filter(n => n.startsWith('{https}/api/workshops')).length") > 0
        finally:
            driver.quit()
    finally:
        site(apidb.host, limit=PORTAL)
    assert requests.get(portal_url(portal), timeout=10).status_code == 200
    gone = subprocess.run(["docker", "exec", portal.container, "ls", "/etc/nginx/wod-portal.key"], capture_output=True)
    assert gone.returncode != 0


# Backups that restore: the dump `wod-deploy backup` brings here, restored by `wod-deploy restore`
# into a fresh api-db host, holds every customer and student of the original.

def people(api_db: ApiDb) -> dict:
    """What makes each customer and student theirs (the scheduler updates the rest as it goes)."""
    return {"customers": psql(api_db, "SELECT id, email, \"studentId\", \"createdAt\" FROM customers ORDER BY id"),
            "students": psql(api_db, "SELECT id, username, location FROM students ORDER BY id")}


def test_the_latest_dump_restores_into_a_fresh_api_db_with_every_customer_and_student(backend, apidb, tmp_path):
    assert apidb.sh("systemctl is-enabled wod-api-db-backup.timer").stdout.strip() == "enabled"
    apidb.register(f"restore-{int(time.time())}@example.org")
    before = people(apidb)
    assert before["customers"] and before["students"]
    proc = wod_deploy("backup", "inventories/docker.py", "--limit", API_DB, *site_args(apidb.host),
                      "--to", str(tmp_path / "dumps"), env=SITE_ENV)
    assert proc.returncode == 0, proc.stdout[-3000:]
    dump = tmp_path / "dumps" / f"{API_DB}.dump"
    assert dump.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
    assert apidb.sh("stat -c '%U %a' /var/backups/wod-api-db/latest.dump").stdout.strip() == "root 600"
    assert people(apidb) == before  # nothing moved while the dump was made: it holds these rows
    fresh = ApiDb(hosts.up(role="api_db", name=f"{NAME}-apidb2"))
    alone = {"WOD_HOSTS": f"{NAME},{fresh.host.name}", **PASSWORDS}  # one api-db in this inventory: the fresh one
    try:
        results, _, _ = pyinfra(*site_args(fresh.host), deploy="deploys/api_db.py", limit=fresh.host.name, env=alone)
        assert results["results"]["failed_hosts"] == []
        assert psql(fresh, "SELECT count(*) FROM customers") == "0"
        start = time.monotonic()
        proc = wod_deploy("restore", "inventories/docker.py", str(dump), "--limit", fresh.host.name,
                          *site_args(fresh.host), env=alone)
        assert proc.returncode == 0, proc.stdout[-3000:]
        timing("restore of the api-db's dump into a fresh api-db host (wod-deploy restore)", time.monotonic() - start)
        assert people(fresh) == before
        # the app serves them: the moderator of the original logs in and lists every customer
        assert {c["id"] for c in fresh.customers()} == {int(r.split("|")[0]) for r in before["customers"].splitlines()}
        # what the fresh database held is dumped beside, before it was replaced
        assert fresh.sh("ls /var/backups/wod-api-db/").stdout.count(".dump") >= 2
    finally:
        hosts.down(fresh.host.name)


# The portal current with the catalogue: its /workshop/<id> pages are made at build time, from the
# rows the api-db serves then.

def test_a_workshop_added_to_the_catalogue_rebuilds_the_portal_once_and_its_page_is_served(apidb, portal, tmp_path):
    catalogue = tmp_path / "workshops"
    shutil.copytree(ROOT / "tests/fixtures/workshops", catalogue)
    shutil.copytree(catalogue / "WKSHP-Test101", catalogue / "WKSHP-Fresh101")
    meta = catalogue / "WKSHP-Fresh101" / "wod.yml"
    meta.write_text(meta.read_text().replace("Test101", "Fresh101")
                    .replace("A small workshop for wod-deploy's own tests", "Fresh from the catalogue"))
    before = served_release(portal)
    stale = wod_deploy("check", "inventories/docker.py", "--limit", PORTAL,
                       *site_args(apidb.host, "--data", f"WODNOBO={catalogue}"), env=SITE_ENV)
    assert stale.returncode != 0 and "portal.release" in stale.stdout, stale.stdout[-3000:]  # an older catalogue's
    # the module's last test: its hosts go down after it, the catalogue is never put back
    results, _, seconds = site(apidb.host, "--data", f"WODNOBO={catalogue}")
    assert results["results"]["failed_hosts"] == []
    builds = [n for n in changed(results) if "Production build" in n]
    assert len(builds) == 1, changed(results)
    timing("portal rebuild after a workshop added to the catalogue (deploys/site.py, the three roles)", seconds)
    assert served_release(portal) != before
    workshop = next(w for w in requests.get(f"{apidb.url}/workshops?active=true", timeout=10).json()
                    if w["notebook"] == "WKSHP-Fresh101")
    page = requests.get(portal_url(portal, f"/workshop/{workshop['id']}/"), timeout=10)
    built = subprocess.run(["docker", "exec", portal.container, "grep", "-i", "-E", "apidb|error|/workshop/",
                            "/var/lib/wodfe/build/.wod-build.log"], capture_output=True, text=True).stdout
    assert page.status_code == 200, f"{page.status_code}; the build's log says:\n{built[-3000:]}"
    assert "Fresh101" in page.text and "Fresh from the catalogue" in page.text
    again, _, _ = site(apidb.host, "--data", f"WODNOBO={catalogue}")
    assert changed(again) == []  # once
    proc = wod_deploy("check", "inventories/docker.py", "--limit", PORTAL,
                      *site_args(apidb.host, "--data", f"WODNOBO={catalogue}"), env=SITE_ENV)
    assert proc.returncode == 0, proc.stdout[-3000:]
