"""Kernels as data: recipes, each kernel.json as managed content, the catalogue's needs named at
deploy, by `check` and at CREATE."""

import json
import tarfile
from pathlib import Path

import pytest

from wod_deploy.checks import DRIFT, PASS
from wod_deploy.components import jupyterhub, kernels, packages, workshops
from wod_deploy.components.mailapi import handler_config
from wod_deploy.runtime import accounts, actions, catalogue
from wod_deploy.runtime.message import Rejected, Request
from wod_deploy.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "workshops"
CATALOGUE = Settings(WODNOBO=str(FIXTURES))
PYTHON_ONLY = Settings(WODNOBO=str(FIXTURES), KERNELS=("python3",))


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("WOD_STATE_DIR", str(tmp_path / "state"))
    workshops._staged.clear()
    kernels._warned.clear()


NOTEBOOK = {"cells": [], "metadata": {"kernelspec": {"name": "bash", "display_name": "Bash"}}}
NAMES = [
    ("a-notebook", json.dumps(NOTEBOOK), "bash"),
    ("no-kernelspec", json.dumps({"cells": [], "metadata": {}}), None),
    ("an-empty-name", json.dumps({"metadata": {"kernelspec": {"name": ""}}}), None),
    ("not-a-mapping", "[1, 2]", None),
    # a template whose {% %} makes it invalid JSON until CREATE renders it
    ("a-template", '{"cells": [{% if x %}{"cell_type": "code"}{% endif %}],\n "metadata": {"kernelspec": '
                   '{"display_name": "Go", "name": "gophernotes"}}}', "gophernotes"),
    ("not-a-notebook", "{not json", None),
]


@pytest.mark.parametrize("text,name", [n[1:] for n in NAMES], ids=[n[0] for n in NAMES])
def test_the_kernel_a_notebook_names(text, name):
    assert workshops.kernelspec_name(text) == name


def test_the_kernels_each_fixture_workshop_needs():
    needed = workshops.kernels_needed(CATALOGUE)
    assert needed["WKSHP-Kernels101"] == ["bash", "python3"]
    assert needed["WKSHP-Test101"] == ["python3"] and needed["WKSHP-Unset101"] == []


def test_the_index_carries_the_kernels_each_workshop_needs(tmp_path):
    tarball, _, _ = workshops.staged(CATALOGUE)
    with tarfile.open(tarball) as tar:
        index = json.load(tar.extractfile(workshops.INDEX))
    assert index["WKSHP-Kernels101"] == {"reset": False, "range": [1, 20], "kernels": ["bash", "python3"],
                                           "appliance": None}


def test_each_kernel_json_is_declared_whole_with_the_venvs_python():
    found = {item.path: json.loads(item.content) for item in kernels.specs(Settings(JPHUB="/opt/hub"))}
    assert sorted(found) == [f"/opt/hub/share/jupyter/kernels/{k}/kernel.json" for k in ("bash", "python3", "ssh")]
    bash = found["/opt/hub/share/jupyter/kernels/bash/kernel.json"]
    assert bash == {"argv": ["/opt/hub/bin/python", "-m", "bash_kernel", "-f", "{connection_file}"],
                    "display_name": "Bash", "language": "bash", "codemirror_mode": "shell", "env": {"PS1": "$"}}


def test_the_venv_pins_follow_the_kernels_and_kernel_packages_replaces_a_recipes_pin():
    assert jupyterhub.pins(Settings()) == ["jupyterhub==5.5.4", "jupyterlab==4.6.6", "bash_kernel==0.10.0",
                                           "sshkernel==0.11.1"]
    assert jupyterhub.pins(Settings(KERNELS=("python3",))) == ["jupyterhub==5.5.4", "jupyterlab==4.6.6"]
    bumped = Settings(KERNEL_PACKAGES=("sshkernel==0.11.0", "pandas==2.2.3"))
    assert jupyterhub.pins(bumped)[2:] == ["bash_kernel==0.10.0", "sshkernel==0.11.0", "pandas==2.2.3"]
    assert "openssh-client" in packages.packages(Settings())


def test_the_deploy_warns_once_per_run_which_workshops_need_a_kernel_not_registered(caplog):
    with caplog.at_level("WARNING", logger="pyinfra"):
        kernels.warn_unserved(PYTHON_ONLY)
        kernels.warn_unserved(PYTHON_ONLY)  # a second backend of the same run
        kernels.warn_unserved(CATALOGUE)
    assert [r.getMessage() for r in caplog.records if "KERNELS" in r.getMessage()] == [
        "workshop WKSHP-Kernels101 needs the kernel bash, which this backend does not register (KERNELS): its "
        "CREATE will be rejected"]


def probe_registered(s: Settings):
    """A backend where every declared kernel is in place, as the check reads it."""
    def probe(fact, **kwargs):
        if fact.__name__ == "KernelSpecs":
            return {k: f"{s.JPHUB}/share/jupyter/kernels/{k}" for k in s.KERNELS}
        return {"paths": {f.path: {"type": "file", **f.want()} for f in kernels.specs(s)}, "units": {}}
    return probe


def test_check_names_each_workshop_needing_a_kernel_not_registered():
    found = list(kernels.checks(PYTHON_ONLY, probe_registered(PYTHON_ONLY)))
    gaps = [c for c in found if c.id == "kernels.catalogue"]
    assert [(c.resource, c.actual, c.status) for c in gaps] == [("workshop WKSHP-Kernels101", "bash not registered",
                                                                DRIFT)]
    assert {c.status for c in found if c.id != "kernels.catalogue"} == {PASS}
    served = list(kernels.checks(CATALOGUE, probe_registered(CATALOGUE)))
    assert {c.status for c in served} == {PASS} and len([c for c in served if c.id == "kernels.file"]) == 3


def test_check_compares_a_kernel_json_by_content():
    s = CATALOGUE
    registered = probe_registered(s)

    def edited(fact, **kwargs):
        state = registered(fact, **kwargs)
        if fact.__name__ != "KernelSpecs":
            state["paths"][kernels.spec_path(s, "bash")]["sha1"] = "0" * 40
        return state
    drift = [c for c in kernels.checks(s, edited) if c.status == DRIFT]
    assert [(c.id, c.resource) for c in drift] == [("kernels.file", kernels.spec_path(s, "bash"))]


@pytest.fixture
def cfg(tmp_path):
    tarball, _, _ = workshops.staged(CATALOGUE)
    with tarfile.open(tarball) as tar:
        tar.extractall(tmp_path / "workshops", filter="data")
    return {**handler_config(PYTHON_ONLY), "workshops_dir": str(tmp_path / "workshops")}  # the deploy's own


def test_create_of_a_workshop_needing_a_kernel_not_registered_is_refused_before_anything(cfg, monkeypatch):
    monkeypatch.setattr(accounts, "run", lambda *a, **k: pytest.fail("a refused CREATE ran a command"))
    monkeypatch.setattr(accounts, "evict", lambda *a, **k: pytest.fail("a refused CREATE evicted the slot"))
    req = Request("CREATE", 3, 42, "", "WKSHP-Kernels101")
    with pytest.raises(Rejected) as refused:
        actions.create(cfg, req, hub=None, api=None)
    assert str(refused.value) == ("workshop WKSHP-Kernels101 needs the kernel bash, which this backend does not "
                                  "register (KERNELS)")
    assert catalogue.unregistered_kernels({**cfg, "kernels": ["python3", "bash"]}, "WKSHP-Kernels101") == []
    # a handler config written before KERNELS existed refuses nothing
    assert catalogue.unregistered_kernels({k: v for k, v in cfg.items() if k != "kernels"}, "WKSHP-Kernels101") == []
