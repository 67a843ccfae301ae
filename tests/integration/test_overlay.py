"""A private overlay: its values win, its workshops are added, its templates replace ours."""

import json
import subprocess
import sys

import pytest

from .conftest import NAME, ROOT, pyinfra

pytestmark = pytest.mark.integration
OVERLAY = "tests/fixtures/private/group_data"


def test_private_overlay_wins_then_the_public_layer_comes_back(backend):
    results, _, _ = pyinfra("--group-data", OVERLAY)
    assert results["results"]["failed_hosts"] == []
    try:
        # its template replaced ours, rendered with its values
        assert backend.sh("cat /etc/skel/.bash_aliases").stdout.startswith("# private overlay template: Private Brand")
        # its workshop was added to the public ones
        assert backend.sh("ls /var/lib/wod/workshops").stdout.split() == [
            "WKSHP-Broken101", "WKSHP-Kernels101", "WKSHP-Private101", "WKSHP-Reset101", "WKSHP-Tab101",
            "WKSHP-Test101", "WKSHP-Unset101"]
        # its values reach the notebooks through the mail API
        assert backend.act("CREATE 13 7")["outcome"] == "done"
        readme = backend.sh("cat /student/student13/WKSHP-Test101/0-ReadMeFirst.ipynb").stdout
        assert "Welcome to Private Brand" in readme and f"web port is {30000 + 13 - 1}" in readme
        # private hooks, templated with the overlay's values, run after the public ones (upstream's order)
        assert backend.act("CREATE 13 8")["hooks"] == [
            "public/create-WKSHP-Test101.sh", "private/create-WKSHP-Test101.sh",
            "public/post-copy-WKSHP-Test101.sh", "private/post-copy-WKSHP-Test101.sh"]
        assert "private create-WKSHP-Test101.sh stdid=13 brand=Private Brand" in backend.lines("/tmp/wod-hooks.log")
        assert backend.act("CREATE 14 7", body="WKSHP-Private101\n")["outcome"] == "done"
        assert "Private workshop by Private Brand" in backend.sh(
            "cat /student/student14/WKSHP-Private101/0-ReadMeFirst.ipynb").stdout
        check = subprocess.run([sys.executable, "-m", "wod_deploy.cli", "check", "inventories/docker.py",
                                "--limit", NAME, "--group-data", OVERLAY, "--json", "/dev/stdout"],
                               cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert check.returncode == 0, check.stdout[-2000:]
    finally:
        backend.act("PURGE 13 7", body="")
        backend.act("PURGE 14 7", body="")
        pyinfra()
    assert "Private" not in backend.sh("cat /etc/skel/.bash_aliases").stdout
    assert "WKSHP-Private101" not in backend.sh("ls /var/lib/wod/workshops").stdout
    assert json.loads(backend.sh("cat /etc/wod/mailapi.json").stdout)["branding"]["BRANDING"] == "WoD Developer"


def test_group_data_imported_from_upstreams_ansible_converges_and_is_compliant(backend, tmp_path):
    """import-ansible on copies of upstream's group_vars (wod-backend, wod-install, wod-private):
    a converge with what it wrote succeeds, the values are upstream's, and check passes."""
    upstream = ROOT / "tests" / "fixtures" / "ansible"
    out = tmp_path / "group_data"
    proc = subprocess.run([sys.executable, "-m", "wod_deploy.cli", "import-ansible", str(upstream / "wod-backend"),
                           str(upstream / "wod-install"), "--private", str(upstream / "wod-private"),
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    try:
        results, _, _ = pyinfra("--group-data", str(out))
        assert results["results"]["failed_hosts"] == []
        handler = json.loads(backend.sh("cat /etc/wod/mailapi.json").stdout)
        assert handler["branding"]["BRANDING"] == "WoD"  # wod-private's, over wod-install's
        check = subprocess.run([sys.executable, "-m", "wod_deploy.cli", "check", "inventories/docker.py",
                                "--limit", NAME, "--group-data", str(out)],
                               cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert check.returncode == 0, check.stdout[-2000:]
    finally:
        pyinfra()
