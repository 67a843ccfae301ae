"""The backend core on a real Debian 12 host over SSH (acceptance of the foundation issue)."""

import re
import subprocess
import time

import pytest
import requests

from .conftest import NAME, ROOT, S, changed, pyinfra

pytestmark = pytest.mark.integration


def test_first_converge_changes_and_second_changes_nothing(backend):
    assert backend.first_run["results"]["failed_hosts"] == []
    assert len(changed(backend.first_run)) > 10
    assert changed(backend.second_run) == []
    assert backend.second_run["results"]["totals"]["no_change"] == len(backend.second_run["results"]["operations"])


def test_a_no_change_converge_reads_the_whole_host_in_one_round_trip(backend):
    """wod_deploy/reads.py: every component's reads in one command, made at the first operation's
    (Upload staging); preparing the deploy reads nothing. That command was started when the
    host's preparation ended, and the first operation took its output (wod_deploy/ssh.py)."""
    assert backend.second_round_trips == {"Upload staging": 1}
    assert backend.second_sent_ahead == 1


def test_hub_answers_with_its_version_on_the_published_port(backend):
    assert re.match(r"^\d+\.\d+\.\d+", backend.wait_for_hub()["version"])


def test_kernelspecs_python3_bash_ssh(backend):
    out = backend.sh(f"{S.JPHUB}/bin/jupyter kernelspec list").stdout
    registered = {line.split()[0] for line in out.splitlines()[1:] if line.strip()}
    assert {"python3", "bash", "ssh"} <= registered, out


def test_student_logs_in_and_gets_a_running_server(backend):
    backend.wait_for_hub()
    backend.open_login("student3", "Wod-test-pw-3")
    assert backend.login("student3", "wrong-password").status_code == 403
    response = backend.login("student3", "Wod-test-pw-3")
    assert response.status_code == 302, response.text[:500]
    # the hub spawns on the redirect chain; the admintk service token (made on the host) reads it back
    headers = {"Authorization": f"token {backend.token()}"}
    requests.post(f"{backend.hub}/hub/api/users/student3/server", headers=headers, timeout=60)
    deadline = time.monotonic() + 90
    while True:
        user = requests.get(f"{backend.hub}/hub/api/users/student3", headers=headers, timeout=10).json()
        server = user.get("servers", {}).get("")
        if server and server.get("ready"):
            break
        assert time.monotonic() < deadline, f"student3's server never became ready: {user}"
        time.sleep(2)
    assert backend.sh("pgrep -u student3 -f jupyterhub-singleuser").returncode == 0


def test_token_file_is_root_0600_and_not_in_config(backend):
    assert backend.sh(f"stat -c '%U %a' {S.hub_token_file}").stdout.split() == ["root", "600"]
    assert backend.token() not in backend.sh(f"cat {S.hub_etc}/jupyterhub_config.py").stdout


def test_every_student_has_uid_gid_home_mode_and_acl(backend):
    rows = backend.sh(f"for n in $(seq {S.USERMIN} {S.USERMAX}); do u=student$n; "
                      "echo $u $(id -u $u) $(id -g $u) $(getent passwd $u | cut -d: -f6,7) "
                      "$(stat -c '%U:%G:%a' /student/$u) "
                      "$(getfacl -p /student/$u | grep -c -x -e user:wodadmin:rwx -e default:user:wodadmin:rwx); "
                      "done").stdout.splitlines()
    assert len(rows) == S.USERMAX - S.USERMIN + 1
    for row, st in zip(rows, S.students):
        assert row.split() == [st.name, str(st.uid), str(st.gid), f"{st.home}:/bin/bash",
                               f"{st.name}:{st.name}:770", "2"], row
    assert backend.sh("stat -c %a /student").stdout.strip() == "711"


def test_a_student_cannot_read_another_students_home_but_the_admin_can(backend):
    assert backend.sh("ls /student/student2", user="student1", check=False).returncode != 0
    assert backend.sh("cat /student/student2/.bashrc", user="student1", check=False).returncode != 0
    assert backend.sh("ls /student/student2 && touch /student/student2/.admin-was-here", user=S.WODUSER).returncode == 0


def test_redeploy_keeps_student_files_and_the_hub_database(backend):
    backend.sh("echo 'my notes' > /student/student4/notes.txt", user="student4")
    db = f"{S.hub_state}/jupyterhub.sqlite"
    inode = backend.sh(f"stat -c %i {db}").stdout
    # a config change forces a hub restart: the database must survive it
    results, _, _ = pyinfra("--data", "WODBEPORT=8000", "--data", "BRANDING=changed")
    assert results["results"]["failed_hosts"] == []
    assert backend.sh("cat /student/student4/notes.txt").stdout == "my notes\n"
    assert backend.sh("stat -c %U /student/student4/notes.txt").stdout.strip() == "student4"
    assert backend.sh(f"stat -c %i {db}").stdout == inode
    backend.wait_for_hub()
    users = requests.get(f"{backend.hub}/hub/api/users/student3",
                         headers={"Authorization": f"token {backend.token()}"}, timeout=10)
    assert users.status_code == 200  # the hub still knows student3 from the earlier login


def test_uid_drift_is_reported_and_repaired(backend):
    backend.sh("usermod -u 2999 student5")
    _, stderr, _ = pyinfra()
    assert "student5 (uid 2999" in stderr and "expected 2005" in stderr
    assert backend.sh("id -u student5").stdout.strip() == "2005"
    assert backend.sh("stat -c %u /student/student5/.bashrc").stdout.strip() == "2005"


def test_make_demo_prints_the_hub_url_and_a_working_login(backend):
    proc = subprocess.run(["make", "demo", f"NAME={NAME}"], cwd=ROOT, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"http://127.0.0.1:{backend.host.ports['hub']}/hub/login" in proc.stdout
    password = re.search(r"Log in as:\s+student1 / (\S+)", proc.stdout).group(1)
    assert backend.login("student1", password).status_code == 302
