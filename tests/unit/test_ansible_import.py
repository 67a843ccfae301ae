"""`wod-deploy import-ansible` on copies of upstream's own group_vars (tests/fixtures/ansible)."""

import runpy
import subprocess
import sys
from pathlib import Path

import yaml

from wod_deploy.ansible_import import MAPPING, read
from wod_deploy.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM = ROOT / "tests" / "fixtures" / "ansible"
PUBLIC = [UPSTREAM / "wod-backend", UPSTREAM / "wod-install"]
PRIVATE = UPSTREAM / "wod-private"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wod_deploy.cli", "import-ansible", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def every_upstream_key() -> set[str]:
    keys = set()
    for path in UPSTREAM.glob("*/ansible/group_vars/*"):
        keys |= set(yaml.safe_load(path.read_text()) or {})
    return keys


def test_the_private_layer_wins_and_workshop_values_keep_their_upstream_names():
    imported = read([*PUBLIC, PRIVATE])
    everyone, private = imported.groups["all"], imported.groups["private"]
    assert (everyone["USERMIN"], everyone["USERMAX"], everyone["UIDBASE"], everyone["JPHUB"]) == (
        1, 20, 2000, "/opt/jupyterhub")
    assert everyone["BRANDING"] == "WoD"  # wod-private's all.yml over wod-install's "WoD Developer"
    assert everyone["WORKSHOP_PORTS"]["WKSHP-Docker101"] == {"SSHPORT": 14101, "HTTPPORT": 14151}
    assert everyone["WORKSHOP_PORTS"]["WKSHP-Tensorflow101"]["TENSORFLOWPORT1"] == 20001
    # a group file adds to all's workshops, as Ansible merges variable by variable
    assert private["WORKSHOP_PORTS"]["WKSHP-Ansible102"] == {"SSHPORT": 16001, "HTTPPORT": 16051}
    assert private["WORKSHOP_PORTS"]["WKSHP-Docker101"] == {"SSHPORT": 14101, "HTTPPORT": 14151}
    assert private["WORKSHOP_VARS"]["IP-WKSHP-Ansible102"] == "192.168.1.10"
    assert (private["WODAPIDBUSER"], private["WODBEEXTFQDN"]) == ("apiadmin", "private.example.com")


def test_every_upstream_key_is_mapped_or_listed_with_a_reason():
    imported = read([*PUBLIC, PRIVATE])
    listed = {key for _, key, why in imported.unmapped if why}
    mapped = {key for key in every_upstream_key() if key in MAPPING or "PORT-WKSHP-" in key or "PORT1-" in key
              or "PORT2-" in key or key.startswith(("IP-WKSHP-", "LLM101_"))}
    assert every_upstream_key() - listed - mapped == set()
    reasons = {key: why for _, key, why in imported.unmapped}
    assert reasons["SSHPORT-WKSHP-Podman101"].startswith("placeholder 'xx'")
    assert reasons["IP-WKSHP-Docker101"].startswith("placeholder 'x.y.z.t'")
    assert "WOD_APIDB_PASSWORD" in reasons["APIPWD"]


def test_the_written_files_hold_no_secret_and_pass_the_preflight(tmp_path):
    proc = run(*map(str, PUBLIC), "--private", str(PRIVATE), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.py", "private.py"]
    text = "".join(p.read_text() for p in tmp_path.iterdir())
    for secret in ("VeryComplexPasswd1234!", "2c0246e2c8564dc6ac7b12c544b25d77", "MotDePasse", "test-api",
                   "ceciestunmotdepasse"):
        assert secret not in text
    assert "os.environ.get('WOD_LLM101_API_KEY', '')" in text
    everyone = {k: v for k, v in runpy.run_path(str(tmp_path / "all.py")).items() if k.isupper()}
    private = {k: v for k, v in runpy.run_path(str(tmp_path / "private.py")).items() if k.isupper()}
    load_settings(everyone, host="all")
    load_settings({**everyone, **private}, host="private")
    assert "51 keys not mapped" in proc.stdout and "LDAP is not built" in proc.stdout


def test_a_value_the_preflight_refuses_stops_the_import_naming_it(tmp_path):
    bad = tmp_path / "site" / "ansible" / "group_vars"
    bad.mkdir(parents=True)
    (bad / "all.yml").write_text("WODUSERMIN: 1\nWODUSERMAX: lots\n")
    out = tmp_path / "out"
    proc = run(str(tmp_path / "site"), "--out", str(out))
    assert proc.returncode == 1
    assert "USERMAX='lots'" in proc.stderr and "nothing written" in proc.stderr
    assert not out.exists()
    (bad / "all.yml").write_text("WODUSERMIN: [1\n")
    proc = run(str(tmp_path / "site"), "--out", str(out))
    assert proc.returncode == 1 and f"{bad / 'all.yml'}: not YAML" in proc.stderr
    (bad / "all.yml").write_text("- WODUSERMIN\n")
    proc = run(str(tmp_path / "site"), "--out", str(out))
    assert proc.returncode == 1 and f"{bad / 'all.yml'}: not a mapping of variables" in proc.stderr
    assert not out.exists()


def test_the_readme_documents_every_mapping():
    readme = (ROOT / "README.md").read_text()
    assert [k for k, v in MAPPING.items() if f"| `{k}` | `{v}` |" not in readme] == []
