"""fail2ban bans a client that fails hub logins; ufw holds exactly the declared rules; the baseline."""

import json
import subprocess

import pytest
import requests

from facts.ufw import Ufw
from wod_deploy.components.firewall import rules
from wod_deploy.components.students import protected
from wod_deploy.settings import Settings

from .conftest import NAME, S, pyinfra, waited, wod_deploy

pytestmark = pytest.mark.integration


def hub_reachable(backend) -> bool:
    try:
        requests.get(f"{backend.hub}/hub/api", timeout=5)
        return True
    except requests.RequestException:
        return False


FORGED = {"X-Real-Ip": "10.9.9.9", "X-Forwarded-For": "10.8.8.8"}  # a client writes these as it likes


def failed_login(backend, user: str) -> int:
    session = requests.Session()
    session.headers.update(FORGED)
    session.get(f"{backend.hub}/hub/login", timeout=10)
    return session.post(f"{backend.hub}/hub/login", data={"username": user, "password": "not-the-password",
                                                          "_xsrf": session.cookies.get("_xsrf", "")},
                        timeout=60, allow_redirects=False).status_code


def test_three_failed_hub_logins_get_the_client_banned_until_unbanned(backend):
    """...the client itself, whatever its headers and user names say; and a participant on the
    backend, talking to the hub's own port with forged headers, gets no one banned."""
    client = backend.host.gateway  # how the backend sees this test process
    backend.sh(f"fail2ban-client set jupyterhub delignoreip {client} || true")  # conftest's Backend.not_banned
    backend.sh(f"fail2ban-client set jupyterhub unbanip {client} || true")
    assert hub_reachable(backend)
    forge = ("import requests\n"
             "s = requests.Session()\n"
             "s.headers.update({'X-Forwarded-For': '10.6.6.6', 'X-Real-Ip': '10.6.6.6'})\n"
             f"s.get('http://127.0.0.1:{S.hub_api_port}/hub/login')\n"
             "for _ in range(3):\n"
             f"    s.post('http://127.0.0.1:{S.hub_api_port}/hub/login', data={{'username': 'student2', "
             "'password': 'x', '_xsrf': s.cookies.get('_xsrf', '')})\n")
    backend.sh(f"{S.JPHUB}/bin/python3 -", user="student7", stdin=forge)
    for user in ["student2 (x@10.7.7.7)", *["student2"] * S.F2B_MAXRETRY]:  # stop once banned
        try:
            assert failed_login(backend, user) == 403
        except requests.ConnectionError:
            break
    waited("fail2ban banning the client", lambda: not hub_reachable(backend), timeout=30, every=1)
    banned = backend.sh("fail2ban-client get jupyterhub banned").stdout
    assert client in banned and not any(f"10.{n}.{n}.{n}" in banned for n in (6, 7, 8, 9)), banned
    backend.sh(f"fail2ban-client set jupyterhub unbanip {client}")
    waited("access back once unbanned", lambda: hub_reachable(backend), timeout=15, every=1)


def test_sshd_jail_is_enabled(backend):
    assert "sshd" in backend.sh("fail2ban-client status").stdout


def test_ufw_is_active_with_exactly_the_declared_rules(backend):
    status = backend.sh("ufw status verbose").stdout
    assert "Status: active" in status and "Default: deny (incoming)" in status
    added = [line for line in backend.sh("ufw show added").stdout.splitlines() if line.startswith("ufw ")]
    expected = rules(Settings(MAILAPI_CLIENTS=(backend.host.gateway,)))
    assert sorted(added) == sorted(expected) == sorted([f"ufw allow {S.SSHD_PORT}/tcp", f"ufw allow {S.WODBEPORT}/tcp",
                                 f"ufw allow {S.proxy_port}/tcp",  # where WODBEPORT is translated to
                                 f"ufw allow from {backend.host.gateway} to any port {S.POSTPORT} proto tcp"])


# Rules ufw records in the tuple form facts/ufw.SHOW_ADDED prints itself, and some it leaves to ufw
SIMPLE_RULES = ["allow 53", "deny 23/tcp", "reject 113/udp", "limit 2222/tcp", "allow 6000:6007/tcp",
                "allow 80,443/tcp", "allow from 10.0.0.0/8", "allow from 10.1.2.3 to any port 22",
                "allow from 10.1.2.3 port 53 to any proto udp", "allow to 172.17.0.2 port 8000 proto tcp",
                "allow from 2001:db8::/32 to any port 8000 proto tcp", "deny from 192.168.0.0/16 to 172.17.0.2",
                "allow to any proto gre"]
OTHER_RULES = ["allow out 25/tcp", "allow 2223/tcp comment 'a note'", "allow in on eth0 to any port 81",
               "allow log 8080/tcp"]


@pytest.mark.parametrize("extra", [SIMPLE_RULES, SIMPLE_RULES + OTHER_RULES], ids=["simple", "with-others"])
def test_the_ufw_fact_reads_the_rules_exactly_as_ufw_show_added_prints_them(backend, extra):
    declared = rules(Settings(MAILAPI_CLIENTS=(backend.host.gateway,)))
    try:
        for rule in extra:
            backend.sh(f"ufw {rule}")
        read = Ufw().process(backend.sh(Ufw().command()).stdout.splitlines())["rules"]
        shown = [line for line in backend.sh("ufw show added").stdout.splitlines() if line.startswith("ufw ")]
        assert read == shown and len(shown) == len(declared) + len(extra)
    finally:  # what a converge would delete
        for line in backend.sh("ufw show added").stdout.splitlines():
            if line.startswith("ufw ") and line not in declared:
                backend.sh("ufw delete " + line.removeprefix("ufw "))


def test_system_baseline_values(backend):
    assert backend.sh("cat /etc/sysctl.d/90-wod.conf").stdout.splitlines()[1:] == [
        "kernel.pid_max = 200000", "kernel.threads-max = 4096000",
        "net.ipv4.tcp_keepalive_time = 1800", "vm.max_map_count = 600000",
        "# ports below 1024 are root's: the hub's API (881), the proxy's API (882) and the proxy (880)",
        "net.ipv4.ip_unprivileged_port_start = 1024"]
    limits = backend.sh("cat /etc/security/limits.d/wod.conf").stdout
    for line in ("wodadmin soft nproc 800000", "wodadmin hard nproc 800000",
                 "wodadmin soft nofile 65535", "wodadmin hard nofile 65535"):
        assert line in limits
    bashrc = backend.sh("cat /home/wodadmin/.bashrc").stdout.splitlines()
    assert "ulimit -u 641465" in bashrc and "ulimit -n 65535" in bashrc
    assert "UserTasksMax=100000" in backend.sh("cat /etc/systemd/logind.conf.d/wod.conf").stdout
    assert backend.sh("cat /etc/skel/.ssh/config").stdout.strip() == "LogLevel QUIET"
    assert backend.sh("stat -c %a /etc/skel/.ssh/authorized_keys").stdout.strip() == "600"
    assert backend.sh("systemctl is-enabled systemd-timesyncd").stdout.strip() == "enabled"
    hosts = backend.sh("cat /etc/hosts").stdout
    assert f"{backend.host.address} {backend.host.name}.wod.test {backend.host.name}" in hosts
    assert {"wod-cleanup-processes", "wod-upd"} <= set(backend.sh("ls /etc/cron.d").stdout.split())
    assert backend.sh("systemctl is-active wod-watchdog").stdout.strip() == "active"


def test_nothing_wod_runs_as_root_is_writable_by_a_student(backend):
    """TLJH's test_nothing_user_writable, run as a real student account over every protected tree."""
    trees = " ".join(protected(S))
    own = backend.sh(f"find {S.STUDDIR}/student1 -maxdepth 0 -writable", user="student1").stdout.strip()
    assert own == f"{S.STUDDIR}/student1"  # the probe does see what a student can write
    writable = backend.sh(f"find {trees} -xdev -writable 2>/dev/null", user="student1", check=False).stdout
    assert writable == ""


def test_a_student_writable_path_is_named_by_the_check(backend, tmp_path):
    planted = f"{S.lib_dir}/planted.py"
    backend.sh(f"install -m 0666 /dev/null {planted}")
    try:
        proc = wod_deploy("check", "inventories/docker.py", "--limit", NAME, "--json", str(tmp_path / "r.json"))
    finally:
        backend.sh(f"rm -f {planted}")
    assert proc.returncode == 2, proc.stdout[-2000:]
    hit = [c for c in json.loads((tmp_path / "r.json").read_text())["checks"]
           if c["id"] == "students.nothing_writable"]
    assert hit[0]["status"] == "drift" and planted in hit[0]["actual"], hit


def test_the_hub_serves_tls_with_the_given_certificate(backend, tmp_path):
    """A self-signed pair made here: the proxy serves it on WODBEPORT, the key reaches the host
    root-only and never pyinfra's output, even with --diff."""
    cert, key = tmp_path / "hub.crt", tmp_path / "hub.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    tls = ("--data", f"HUB_TLS_CERT={cert}", "--data", f"HUB_TLS_KEY={key}")
    port = backend.host.ports["hub"]
    try:
        results, stderr, _ = pyinfra("--diff", *tls)
        assert results["results"]["failed_hosts"] == []
        assert key.read_text().splitlines()[1] not in stderr
        assert requests.get(f"https://127.0.0.1:{port}/hub/api", verify=str(cert), timeout=10).json()["version"]
        with pytest.raises(requests.RequestException):
            requests.get(f"http://127.0.0.1:{port}/hub/api", timeout=10).json()
        assert backend.sh(f"stat -c '%a %U' {S.hub_etc}/hub.key").stdout.split() == ["600", "root"]
        proc = wod_deploy("check", "inventories/docker.py", "--limit", NAME, *tls, "--json", str(tmp_path / "r.json"))
        assert proc.returncode == 0, proc.stdout[-3000:]
    finally:
        pyinfra()
        backend.wait_for_hub(timeout=120)
