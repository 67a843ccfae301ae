"""`make bench` in small: N = 5, one run, on the session's backend; the report has its shape."""

import re
import subprocess
import sys

import pytest

from .conftest import NAME, ROOT, timing, wod_deploy

pytestmark = pytest.mark.integration
FIGURES = ("backend no-change converge (one host)", "wod-deploy check (one backend, 20 students)",
           "backends no-change converge in parallel, 1", "wod-deploy students first converge, N=5",
           "wod-deploy students no-change, N=5", "Ansible students first converge, N=5",
           "Ansible students no-change, N=5", "a room of 5 registering at once: first server ready",
           "a room of 5 registering at once: last server ready")


def test_the_bench_at_5_students_writes_its_report_and_leaves_the_backend_compliant(backend, tmp_path):
    out = tmp_path / "benchmarks.md"
    proc = subprocess.run([sys.executable, "-m", "bench.run", "--smoke", "--reuse", NAME, "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nOne run of `make bench --smoke --reuse")
    assert re.search(r"^- cpu: .+, \d+ cores$", text, re.M) and re.search(r"^- ansible: .*core 2\.", text, re.M)
    for name in FIGURES:
        row = re.search(rf"^\| {re.escape(name)} \| 1 \| ([\d.]+) \| ([\d.]+) \| `.+` \|$", text, re.M)
        assert row and float(row.group(1)) > 0, f"no figure {name!r} in:\n{text}"
    comparison = re.search(r"^\| 5 \| ([\d.]+) s \| ([\d.]+) s \(measured\) \| (\d+)x \|$", text, re.M)
    assert comparison, text
    timing("bench smoke: students no-change at N=5, wod-deploy vs Ansible (s)", float(comparison.group(1)))
    assert float(comparison.group(2)) > float(comparison.group(1))  # five tasks over SSH per student
    assert re.search(r"^\| total \| \d+ \|$", text, re.M)  # round trips per component
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert wod_deploy("check", "inventories/docker.py", "--limit", NAME).returncode == 0
