"""Kernels as the participant meets them: every cell of a Python and bash workshop runs, a kernel's
kernel.json is ours (drift named by `check`, repaired by a converge), and a workshop needing a
kernel the backend does not register is named at deploy and by `check`, and refused at CREATE."""

import json
import subprocess
import sys

import pytest

from wod_deploy.components.kernels import spec_path, specs

from .conftest import NAME, ROOT, S, changed, pyinfra

pytestmark = pytest.mark.integration
WS, N = "WKSHP-Kernels101", 17
NOTEBOOKS = ["0-ReadMeFirst.ipynb", "1-Python.ipynb", "2-Bash.ipynb"]


def check(tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    out = tmp_path / "check.json"
    proc = subprocess.run([sys.executable, "-m", "wod_deploy.cli", "check", "inventories/docker.py", "--limit", NAME,
                           "--json", str(out), *args], cwd=ROOT, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)
    return proc, json.loads(out.read_text())["checks"]


def test_each_kernel_json_is_the_one_we_declare(backend):
    listed = backend.sh(f"{S.JPHUB}/bin/jupyter kernelspec list --json").stdout
    assert set(json.loads(listed)["kernelspecs"]) >= set(S.KERNELS)
    for item in specs(S):
        assert backend.sh(f"cat {item.path}").stdout == item.content


def test_a_participant_runs_every_cell_of_a_python_and_bash_workshop(backend):
    event = backend.act(f"CREATE {N} 31", body=f"{WS}\n")
    assert event["outcome"] == "done", event
    home = f"{S.STUDDIR}/student{N}"
    try:
        for notebook in NOTEBOOKS:  # in the participant's order: the bash one reads what Python wrote
            run = backend.sh(f"cd {home}/{WS} && HOME={home} {S.JPHUB}/bin/jupyter nbconvert --execute --inplace "
                             f"--to notebook --ExecutePreprocessor.timeout=120 {notebook}",
                             user=f"student{N}", check=False)
            assert run.returncode == 0, f"{notebook}: {run.stderr[-3000:]}"
            executed = json.loads(backend.sh(f"cat {home}/{WS}/{notebook}").stdout)
            code = [c for c in executed["cells"] if c["cell_type"] == "code"]
            assert code and all(c["execution_count"] for c in code), notebook
            errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
            assert errors == [], f"{notebook}: {errors}"
        bash = json.loads(backend.sh(f"cat {home}/{WS}/2-Bash.ipynb").stdout)
        assert "three lines" in json.dumps(bash["cells"][-1]["outputs"])
    finally:
        backend.act(f"PURGE {N} 31", body="")


def test_a_drifted_kernel_json_is_named_by_check_then_repaired(backend, tmp_path):
    path = spec_path(S, "bash")
    backend.sh(f"sed -i 's/\"Bash\"/\"Bash (edited)\"/' {path}")
    proc, checks = check(tmp_path)
    assert proc.returncode == 2, proc.stdout
    hit = [c for c in checks if (c["id"], c["resource"], c["status"]) == ("kernels.file", path, "drift")]
    assert hit and hit[0]["expected"] != hit[0]["actual"], proc.stdout
    results, _, _ = pyinfra()
    assert f"Kernels | Kernels: {path}" in changed(results)
    assert '"display_name": "Bash"' in backend.sh(f"cat {path}").stdout
    proc, _ = check(tmp_path)
    assert proc.returncode == 0, proc.stdout


def test_a_workshop_needing_a_kernel_not_registered_is_named_and_its_create_refused(backend, tmp_path):
    only = 'KERNELS=["python3"]'
    _, stderr, _ = pyinfra("--data", only)
    try:
        reason = f"workshop {WS} needs the kernel bash, which this backend does not register (KERNELS)"
        assert f"{reason}: its CREATE will be rejected" in stderr, stderr[-3000:]
        proc, checks = check(tmp_path, "--data", only)
        hit = [c for c in checks if (c["id"], c["resource"]) == ("kernels.catalogue", f"workshop {WS}")]
        assert proc.returncode == 2 and hit and hit[0]["status"] == "drift", proc.stdout
        assert hit[0]["actual"] == "bash not registered"
        before = backend.home_digest(N)
        event = backend.act(f"CREATE {N} 32", body=f"{WS}\n")
        assert event["outcome"] == "rejected" and event["reason"] == reason, event
        assert backend.home_digest(N) == before  # refused before anything was touched
        assert backend.act(f"CREATE {N} 33")["outcome"] == "done"  # a Python workshop still is served
        backend.act(f"PURGE {N} 33", body="")
    finally:
        pyinfra()
