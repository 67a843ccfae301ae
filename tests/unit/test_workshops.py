"""Workshop sources: a local directory or a git URL, merged with the private overlay, packed stably."""

import subprocess
from dataclasses import replace
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
    assert sorted(workshops.catalogue(s)) == ["WKSHP-Broken101", "WKSHP-Kernels101", "WKSHP-Private101",
                                              "WKSHP-Reset101", "WKSHP-Tab101", "WKSHP-Test101", "WKSHP-Unset101"]


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
    assert sorted(workshops.catalogue(s)) == ["WKSHP-Broken101", "WKSHP-Kernels101", "WKSHP-Reset101",
                                              "WKSHP-Tab101", "WKSHP-Test101", "WKSHP-Unset101"]
    (repo / "WKSHP-Test101" / "wod.yml").unlink()
    subprocess.run([*git, "commit", "-q", "-am", "drop Test101"], check=True)
    assert "WKSHP-Test101" not in workshops.catalogue(s)  # refreshed on the next deploy


def test_a_tab_after_a_key_is_read_and_an_unreadable_wod_yml_is_skipped_with_its_line(tmp_path, caplog):
    """Upstream's WKSHP-RUST101/wod.yml has a tab after `replayLink:` (PyYAML refuses it, YAML::Tiny
    reads it); a wod.yml nothing can read skips that workshop alone, naming the file and line."""
    for name, text in (("WKSHP-Tab101", "name: Tab101\nreplayLink:\t'https://example.org/replay'\nreset: true\n"),
                       ("WKSHP-Bad101", "name: Bad101\nrange: [unclosed\n"),
                       ("WKSHP-List101", "- not\n- a mapping\n"),
                       ("WKSHP-Fine101", "name: Fine101\n"),
                       ("WKSHP-Mixed101", "name: Mixed101\nreplayLink: \t'https://example.org/r'\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "wod.yml").write_text(text)
    with caplog.at_level("WARNING", logger="pyinfra"):
        found = workshops._read(Settings(WODNOBO=str(tmp_path)))
    assert sorted(found) == ["WKSHP-Fine101", "WKSHP-Mixed101", "WKSHP-Tab101"]  # RUST101's " \t" too
    assert found["WKSHP-Mixed101"][1]["replayLink"] == "https://example.org/r"
    assert found["WKSHP-Tab101"][1]["replayLink"] == "https://example.org/replay"
    assert workshops.index_entry(found["WKSHP-Tab101"][1]) == {"reset": True, "range": None, "kernels": [],
                                                                 "appliance": None}
    warned = caplog.text
    assert f"{tmp_path}/WKSHP-Bad101/wod.yml:3" in warned and f"{tmp_path}/WKSHP-List101/wod.yml:1" in warned


def test_each_version_of_a_wod_yml_is_read_once_for_every_backend_and_warned_once(tmp_path, caplog):
    (tmp_path / "WKSHP-Bad101").mkdir()
    meta = tmp_path / "WKSHP-Bad101" / "wod.yml"
    meta.write_text("name: Bad101\nrange: [unclosed\n")
    with caplog.at_level("WARNING", logger="pyinfra"):
        for _ in range(6):  # six backends' deploys in one run
            assert workshops._read(Settings(WODNOBO=str(tmp_path))) == {}
    assert caplog.text.count("WKSHP-Bad101/wod.yml:3") == 1
    meta.write_text("name: Bad101\nrange: [1, 20]\n")  # fixed: another size, another version
    assert workshops._read(Settings(WODNOBO=str(tmp_path)))["WKSHP-Bad101"][1]["range"] == [1, 20]


def test_unreachable_git_url_names_the_setting(tmp_path):
    with pytest.raises(DeployError, match="WODNOBO='file:///nonexistent/repo.git'"):
        workshops.catalogue(Settings(WODNOBO="file:///nonexistent/repo.git"))


def test_the_deploy_warns_which_workshops_read_variables_nobody_set(caplog):
    s = Settings(WODNOBO=str(FIXTURES / "workshops"), WORKSHOP_PORTS={"WKSHP-Test101": {"HTTPPORT": 20000}})
    with caplog.at_level("WARNING", logger="pyinfra"):
        workshops.warn_unset_variables(s)
    unset = [r.getMessage() for r in caplog.records if "nobody set" in r.getMessage()]
    assert unset == ["workshop WKSHP-Unset101 reads IP-WKSHP-Unset101, which nobody set (WORKSHOP_VARS): its "
                     "CREATE will be rejected (in 0-ReadMeFirst.ipynb)"]
    caplog.clear()
    with caplog.at_level("WARNING", logger="pyinfra"):
        workshops.warn_unset_variables(replace(s, WORKSHOP_VARS={"IP-WKSHP-Unset101": "10.1.2.3"}))
    assert not [r for r in caplog.records if "nobody set" in r.getMessage()]


def test_hooks_ship_with_the_workshops_public_then_private_the_j2_ones_rendered():
    import tarfile

    s = Settings(WODNOBO=str(FIXTURES / "workshops"), HOOKS_DIR=str(FIXTURES / "hooks"),
                 PRIVATE_DIR=str(FIXTURES / "private"), BRANDING="Brand X")
    found = workshops.hooks(s)
    assert sorted(found) == [".hooks/private/create-WKSHP-Test101.sh", ".hooks/private/post-copy-WKSHP-Test101.sh",
                             ".hooks/public/cleanup-WKSHP-Test101.sh", ".hooks/public/create-WKSHP-Test101.sh",
                             ".hooks/public/post-copy-WKSHP-Test101.sh", ".hooks/public/reset-WKSHP-Reset101.sh"]
    assert b"brand=Brand X" in found[".hooks/private/create-WKSHP-Test101.sh"]
    tarball, _, _ = workshops.staged(s)
    with tarfile.open(tarball) as tar:
        member = tar.getmember(".hooks/public/create-WKSHP-Test101.sh")
        assert member.mode == 0o755 and tar.extractfile(member).read().startswith(b"#!/bin/sh")


def test_a_workshop_gets_upstreams_variables_under_upstreams_names(tmp_path, caplog):
    """As upstream's Ansible gives them: WODBEFQDN (K8S101), a workshop's base port read through
    hostvars as HTTPPORT-WKSHP-Ansible101, the students' range; none reported unset, all rendered."""
    from wod_deploy.components.mailapi import handler_config
    from wod_deploy.runtime import render, variables
    from wod_deploy.runtime.message import Request

    ws = tmp_path / "WKSHP-Ansible101"
    ws.mkdir()
    (ws / "0-ReadMeFirst.ipynb").write_text(
        "{{ WODBEFQDN }} {{ hostvars[inventory_hostname]['HTTPPORT-WKSHP-Ansible101'] }} {{ HTTPPORT }} "
        "{{ USERMIN }}-{{ USERMAX }} {{ STUDDIR }}\n")
    s = Settings(WODBEEXTFQDN="hub.example.org", WORKSHOP_PORTS={"WKSHP-Ansible101": {"HTTPPORT": 16051}})
    cfg = {**handler_config(s), "workshops_dir": str(tmp_path)}
    assert variables.unset_variables(cfg, "WKSHP-Ansible101", ws) == {}
    out = tmp_path / "out"
    out.mkdir()
    context = variables.render_context(cfg, Request("CREATE", 3, 42, "", "WKSHP-Ansible101"), "pw")
    render.render_tree(ws, out, context, "localhost")
    assert (out / "0-ReadMeFirst.ipynb").read_text() == "hub.example.org 16051 16053 1-20 /student\n"
