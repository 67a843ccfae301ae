"""Workshop sources: a local directory or a git URL, merged with the private overlay, packed stably."""

import subprocess
from pathlib import Path

import pytest
from pyinfra.api import DeployError

from wod_deploy.components import workshops
from wod_deploy.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("WOD_STATE_DIR", str(tmp_path / "state"))
    workshops._staged.clear()


def test_local_directory_and_overlay_merge():
    s = Settings(WODNOBO=str(FIXTURES / "workshops"), PRIVATE_DIR=str(FIXTURES / "private"))
    assert sorted(workshops.catalogue(s)) == ["WKSHP-Broken101", "WKSHP-Private101", "WKSHP-Reset101",
                                              "WKSHP-Test101"]


def test_pack_is_byte_stable_and_skips_git_and_checkpoints(tmp_path):
    cat = {"WKSHP-Test101": FIXTURES / "workshops" / "WKSHP-Test101"}
    assert workshops.pack(cat) == workshops.pack(cat)
    copy = tmp_path / "WKSHP-Test101"
    subprocess.run(["cp", "-a", str(cat["WKSHP-Test101"]), str(copy)], check=True)
    (copy / ".ipynb_checkpoints").mkdir()
    (copy / ".ipynb_checkpoints" / "x.ipynb").write_text("{}")
    subprocess.run(["touch", "-d", "2001-01-01", *map(str, copy.rglob("*"))], check=True)
    assert workshops.pack({"WKSHP-Test101": copy}) == workshops.pack(cat)  # times and checkpoints ignored


def test_git_url_is_cloned_on_the_controller(tmp_path):
    repo = tmp_path / "notebooks"
    subprocess.run(["cp", "-a", str(FIXTURES / "workshops"), str(repo)], check=True)
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "workshops"], check=True)
    s = Settings(WODNOBO=f"file://{repo}", WODNOBO_REF="main")
    assert sorted(workshops.catalogue(s)) == ["WKSHP-Broken101", "WKSHP-Reset101", "WKSHP-Test101"]
    (repo / "WKSHP-Test101" / "wod.yml").unlink()
    subprocess.run([*git, "commit", "-q", "-am", "drop Test101"], check=True)
    assert sorted(workshops.catalogue(s)) == ["WKSHP-Broken101", "WKSHP-Reset101"]  # refreshed on the next deploy


def test_a_broken_wod_yml_stops_the_deploy(tmp_path):
    (tmp_path / "WKSHP-Bad101").mkdir()
    (tmp_path / "WKSHP-Bad101" / "wod.yml").write_text("name: [unclosed\n")
    with pytest.raises(DeployError, match="not valid YAML"):
        workshops.catalogue(Settings(WODNOBO=str(tmp_path)))


def test_unreachable_git_url_names_the_setting(tmp_path):
    with pytest.raises(DeployError, match="WODNOBO='file:///nonexistent/repo.git'"):
        workshops.catalogue(Settings(WODNOBO="file:///nonexistent/repo.git"))
