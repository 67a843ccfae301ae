"""`wod-deploy check` on a converged backend: compliant, read-only, and it names every drift."""

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from wod_deploy.components.students import protected

from .conftest import NAME, ROOT, S, changed, pyinfra

pytestmark = pytest.mark.integration
SCHEMA = json.loads((ROOT / "wod_deploy/schemas/check-report.schema.json").read_text())
CONFIG = f"{S.hub_etc}/jupyterhub_config.py"

# What the check must leave alone: accounts, managed trees (with mtimes), ACLs, the hub service.
DIGEST = (
    "{ getent passwd; getent group; "
    f"find /etc {S.STUDDIR} {S.JPHUB} -xdev -path {S.hub_state} -prune -o "
    "-printf '%p %m %U %G %T@ %s\\n' | sort; "
    f"getfacl -R -p {S.STUDDIR} 2>/dev/null; systemctl is-active jupyterhub; systemctl is-enabled jupyterhub; "
    "} | sha256sum"
)


def check(tmp_path: Path, *args: str):
    out, xml = tmp_path / "check.json", tmp_path / "check.xml"
    proc = subprocess.run([sys.executable, "-m", "wod_deploy.cli", "check", "inventories/docker.py",
                           "--limit", NAME, "--json", str(out), "--junit", str(xml), *args],
                          cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    return proc, report, ET.parse(xml).getroot()


def test_converged_backend_is_compliant_and_the_check_changes_nothing(backend, tmp_path):
    before = backend.sh(DIGEST).stdout
    proc, report, junit = check(tmp_path)
    after = backend.sh(DIGEST).stdout
    assert proc.returncode == 0, proc.stdout
    assert report["status"] == "pass" and report["summary"]["drift"] == report["summary"]["error"] == 0
    assert {c["status"] for c in report["checks"]} == {"pass"}
    assert len(junit.findall(".//testcase")) == len(report["checks"]) > S.USERMAX
    assert before == after, "wod-deploy check changed the host"


# (case, command that breaks the host, check id, resource) -- the drift catalogue
SWEPT = f"{' '.join(protected(S))} as student{S.USERMIN}"
DRIFTS = [
    ("student-deleted", "userdel student6", "students.account", "student6"),
    ("student-uid-changed", "usermod -u 2999 student7", "students.account", "student7"),
    ("home-chmod-0755", "chmod 0755 /student/student8", "students.account", "student8"),
    ("admin-acl-removed", "setfacl -b /student/student9", "students.account", "student9"),
    ("stray-student", "useradd -M -s /bin/bash student21", "students.stray", "student accounts outside 1..20"),
    ("student-dir-0755", f"chmod 0755 {S.STUDDIR}", "students.base", S.STUDDIR),
    ("hub-stopped", "systemctl stop jupyterhub", "jupyterhub.service", "jupyterhub.service"),
    ("hub-disabled", "systemctl disable jupyterhub", "jupyterhub.service", "jupyterhub.service"),
    ("hub-config-edited", f"echo 'c.Spawner.default_url = \"/tree\"' >> {CONFIG}", "jupyterhub.file", CONFIG),
    ("hub-unit-edited", "sed -i 's/RestartSec=5/RestartSec=50/' /etc/systemd/system/jupyterhub.service",
     "jupyterhub.file", "/etc/systemd/system/jupyterhub.service"),
    ("kernelspec-removed", f"{S.JPHUB}/bin/jupyter kernelspec remove -y bash", "kernels.kernelspec", "kernel bash"),
    ("pip-package-removed", f"{S.JPHUB}/bin/pip uninstall -q -y sshkernel", "jupyterhub.package",
     f"{S.JPHUB} pip sshkernel"),
    ("sudoers-removed", f"rm /etc/sudoers.d/{S.WODUSER}", "admin.file", f"/etc/sudoers.d/{S.WODUSER}"),
    ("token-0644", f"chmod 0644 {S.hub_token_file}", "jupyterhub.secret", S.hub_token_file),
    ("proxy-removed", f"node {S.lib_dir}/npm/bin/npm-cli.js uninstall -g --prefix /usr/local --silent "
     "configurable-http-proxy", "jupyterhub.proxy", "npm configurable-http-proxy"),
    ("npm-removed", f"rm -rf {S.lib_dir}/npm", "jupyterhub.npm", f"{S.lib_dir}/npm"),
    ("postfix-back-on-25", "postconf -M 'smtp/inet=smtp inet n - y - - smtpd'", "mailapi.postfix_master",
     "master.cf smtp/inet"),
    ("postfix-open-relay", "postconf -e 'mynetworks = 0.0.0.0/0'", "mailapi.postfix_main", "main.cf mynetworks"),
    ("procmail-rules-edited", f"sed -i 's/(CREATE|/(CREATE|DELETE|/' {S.mail_home}/.procmailrc", "mailapi.file",
     f"{S.mail_home}/.procmailrc"),
    ("fail2ban-jail-edited", "sed -i 's/^maxretry = 3/maxretry = 30/' /etc/fail2ban/jail.local",
     "fail2ban.file", "/etc/fail2ban/jail.local"),
    ("fail2ban-stopped", "systemctl stop fail2ban", "fail2ban.service", "fail2ban.service"),
    ("ufw-rule-deleted", f"ufw delete allow {S.WODBEPORT}/tcp", "firewall.rules", "ufw rules"),
    # its IPv4 half only: `ufw show added` still prints the rule, from user6.rules
    ("ufw-rule-half-deleted", f"ufw delete allow proto tcp from 0.0.0.0/0 to 0.0.0.0/0 port {S.WODBEPORT}",
     "firewall.rules", "ufw rules"),
    ("ufw-disabled", "ufw disable", "firewall.state", "ufw"),
    ("sysctl-value-changed", "sed -i 's/kernel.pid_max = 200000/kernel.pid_max = 1000/' /etc/sysctl.d/90-wod.conf",
     "system.file", "/etc/sysctl.d/90-wod.conf"),
    ("admin-ulimit-removed", f"sed -i '/ulimit -n 65535/d' /home/{S.WODUSER}/.bashrc", "system.lines",
     f"/home/{S.WODUSER}/.bashrc"),
    ("watchdog-stopped", "systemctl stop wod-watchdog", "system.service", "wod-watchdog.service"),
    ("workshop-deleted", "rm -rf /var/lib/wod/workshops", "workshops.content", "/var/lib/wod/workshops"),
    # the participants' side (issue 9)
    ("staging-opened", f"chmod 0777 {S.staging_dir}", "staging.directory", S.staging_dir),
    ("hooks-readable", f"chmod o+rx {S.workshops_dir}/.hooks", "workshops.directory", f"{S.workshops_dir}/.hooks"),
    ("server-limits-raised", f"sed -i 's/-u {S.STUDENT_TASKS}/-u 100000/' {S.lib_dir}/wod-singleuser",
     "jupyterhub.file", f"{S.lib_dir}/wod-singleuser"),
    ("login-limits-removed", "sed -i '/nproc/d' /etc/security/limits.d/wod.conf", "system.file",
     "/etc/security/limits.d/wod.conf"),
    ("mail-account-given-a-shell", f"usermod -s /bin/bash {S.mail_user}", "mailapi.account", f"user {S.mail_user}"),
    # what only a student's write access shows (find -writable as student1), not a managed item's state
    ("hub-directory-world-writable", f"chmod o+w {S.JPHUB}/lib", "students.nothing_writable", SWEPT),
    ("hub-program-given-to-a-student", f"chown student{S.USERMIN} {S.JPHUB}/bin/jupyterhub",
     "students.nothing_writable", SWEPT),
]


@pytest.mark.parametrize("case,breakage,check_id,resource", DRIFTS, ids=[d[0] for d in DRIFTS])
def test_drift_is_named_then_repaired(backend, tmp_path, case, breakage, check_id, resource):
    backend.sh(breakage)
    proc, report, junit = check(tmp_path)
    assert proc.returncode == 2, proc.stdout
    drifted = [c for c in report["checks"] if c["status"] == "drift"]
    hit = [c for c in drifted if (c["id"], c["resource"]) == (check_id, resource)]
    assert hit, f"{case}: no drift on {check_id} {resource}; drifted: {drifted}"
    assert hit[0]["expected"] != hit[0]["actual"]
    assert f"expected: {hit[0]['expected']}" in proc.stdout and f"actual:   {hit[0]['actual']}" in proc.stdout
    assert junit.findall(".//failure"), "drift must show as a JUnit failure"

    results, _, _ = pyinfra()
    assert results["results"]["failed_hosts"] == [] and changed(results), f"{case}: converge repaired nothing"
    proc, report, _ = check(tmp_path)
    assert proc.returncode == 0, f"{case} not repaired:\n{proc.stdout}"


def test_drift_command_lists_pending_operations(backend, tmp_path):
    backend.sh(f"chmod 0644 {S.hub_token_file}")
    out = tmp_path / "drift.json"
    proc = subprocess.run([sys.executable, "-m", "wod_deploy.cli", "drift", "inventories/docker.py",
                           "--limit", NAME, "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    pending = [c["resource"] for c in report["checks"] if c["id"] == "drift.operation"]
    assert pending == [f"JupyterHub | JupyterHub: {S.hub_token_file}"]
    pyinfra()
    proc = subprocess.run([sys.executable, "-m", "wod_deploy.cli", "drift", "inventories/docker.py",
                           "--limit", NAME], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
