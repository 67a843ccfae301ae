"""`make bench`: wod-deploy beside upstream's Ansible, in one run, on throwaway backends here.

    python -m bench.run [--n 20,200,2000] [--ansible-n 5,20] [--runs 3] [--backends 1,3,6]
    python -m bench.run --smoke --reuse it-backend    # CI: N = 5, one run, an already converged backend

Each figure is the minimum and the median of `--runs` runs, with the command that made it; the
report (docs/benchmarks.md) and its plot (docs/benchmarks.png) say on which machine. Ansible runs
upstream's student tasks (bench/students.yml) with its default settings, as upstream's
ansible.cfg leaves them; where a size would take it more than minutes, it is measured at smaller
sizes and extrapolated linearly (fixed cost + cost per student, fitted on what was measured).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from wod_deploy.settings import Settings
from wod_deploy.testing import hosts

from . import room

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = ROOT / "bench" / "students.yml"
STUDENTS_ONLY = "tests/integration/deploys/students_only.py"
S = Settings()
PY = sys.executable


@dataclass
class Figure:
    name: str
    command: str
    seconds: list[float]
    extra: dict = field(default_factory=dict)

    @property
    def low(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def timed(cmd: list[str], env: dict | None = None, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env={**os.environ, **(env or {})})
    seconds = time.monotonic() - start
    if check and proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}{proc.stdout[-2000:]}")
    return seconds, proc


def pyinfra_cmd(deploy: str, names: list[str], *data: str, count: bool = False) -> tuple[list[str], dict]:
    runner = ["-m", "tests.integration.count_commands"] if count else ["-m", "pyinfra"]
    args = [PY, *runner, "inventories/docker.py", deploy, "-y"]
    for item in data:
        args += ["--data", item]
    return args, {"WOD_HOSTS": ",".join(names)}


def shown(cmd: list[str], env: dict) -> str:
    """The command as a person would type it from the project root."""
    where = " ".join(f"{k}={v}" for k, v in env.items())
    words = [c.replace(PY, "python").replace(str(Path(PY).parent) + "/", "").replace(str(ROOT) + "/", "")
             for c in cmd]
    return f"{where} {' '.join(w if ' ' not in w else repr(w) for w in words)}".strip()


def on_host(host: hosts.TestHost, script: str) -> None:
    subprocess.run(["docker", "exec", "-i", host.container, "sh", "-e"], input=script, text=True, check=True,
                   capture_output=True)


def drop_students(host: hosts.TestHost, n: int) -> None:
    """Students 1..n gone, accounts, groups and homes: the start of a first converge."""
    on_host(host, f"for i in $(seq 1 {n}); do userdel -f -r student$i 2>/dev/null || true; "
                  f"groupdel student$i 2>/dev/null || true; done; rm -rf {S.STUDDIR}/student*")


def host_cpu(on: list[hosts.TestHost]) -> float:
    """CPU seconds the hosts' containers have used so far: all their processes, as their cgroup
    counts it (Docker's stats API samples it only once a second)."""
    import docker

    def usage_usec(text: str) -> float:
        return int(next(line.split()[1] for line in text.splitlines() if line.startswith("usage_usec"))) / 1e6

    total = 0.0
    for host in on:
        cid = docker.from_env().containers.get(host.container).id
        for path, read in ((f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage", lambda text: int(text) / 1e9),
                           (f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat", usage_usec),
                           (f"/sys/fs/cgroup/docker/{cid}/cpu.stat", usage_usec)):
            if Path(path).exists():
                total += read(Path(path).read_text())
                break
        else:
            raise SystemExit(f"no cgroup CPU count found for {host.container}")
    return total


def measure(name: str, cmd: list[str], env: dict, runs: int, before=None,
            cpu_of: list[hosts.TestHost] | None = None) -> Figure:
    """`cpu_of`: also the CPU each run cost the controller (the command, as a child of this
    process) and those hosts, which share this machine's cores with it."""
    seconds, extra = [], {}
    for _ in range(runs):
        if before:
            before()
        if cpu_of:
            mine, theirs = os.times(), host_cpu(cpu_of)
        took, proc = timed(cmd, env)
        seconds.append(took)
        if cpu_of:
            now = os.times()
            extra.setdefault("controller_cpu", []).append(now.children_user + now.children_system
                                                          - mine.children_user - mine.children_system)
            extra.setdefault("hosts_cpu", []).append(host_cpu(cpu_of) - theirs)
        for line in proc.stderr.splitlines():
            if line.startswith("remote-commands-by-deploy: "):
                extra["round_trips"] = json.loads(line.split(": ", 1)[1])
    print(f"{name}: min {min(seconds):.1f}s median {statistics.median(seconds):.1f}s", file=sys.stderr)
    return Figure(name, shown(cmd, env), seconds, extra)


# --- Ansible ---------------------------------------------------------------------------------

def ansible_inventory(host: hosts.TestHost, directory: Path) -> Path:
    inv = directory / "inventory.ini"
    inv.write_text(f"[backend]\n{host.name} ansible_host=127.0.0.1 ansible_port={host.ssh_port} "
                   f"ansible_user={hosts.SSH_USER} ansible_ssh_private_key_file={hosts.ssh_key()} "
                   "ansible_python_interpreter=/usr/bin/python3\n")
    return inv


def ansible_cmd(inv: Path, n: int) -> tuple[list[str], dict]:
    extra = {"WODUSERMIN": 1, "WODUSERMAX": n, "UIDBASE": S.UIDBASE, "GIDBASE": S.GIDBASE, "WODUSER": S.WODUSER,
             "WODSTUDDIR": S.STUDDIR, "WODBEAPIURL": f"http://127.0.0.1:{S.WODBEPORT}",
             "HUBTOKENFILE": S.hub_token_file}
    cmd = [str(Path(PY).parent / "ansible-playbook"), "-i", str(inv), str(PLAYBOOK), "-e", json.dumps(extra)]
    return cmd, {"ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_NOCOLOR": "1"}


# --- the run ---------------------------------------------------------------------------------

def students(host: hosts.TestHost, ns: list[int], ansible_ns: list[int], runs: int, inv: Path) -> list[Figure]:
    figures = []
    for n in ns:
        cmd, env = pyinfra_cmd(STUDENTS_ONLY, [host.name], f"USERMAX={n}")
        figures.append(measure(f"wod-deploy students first converge, N={n}", cmd, env, runs,
                               before=lambda n=n: drop_students(host, max(n, S.USERMAX))))
        cmd, env = pyinfra_cmd(STUDENTS_ONLY, [host.name], f"USERMAX={n}", count=True)
        figures.append(measure(f"wod-deploy students no-change, N={n}", cmd, env, runs))
    for n in ansible_ns:
        cmd, env = ansible_cmd(inv, n)
        figures.append(measure(f"Ansible students first converge, N={n}", cmd, env, runs,
                               before=lambda n=n: drop_students(host, max(n, S.USERMAX))))
        figures.append(measure(f"Ansible students no-change, N={n}", cmd, env, runs))
    return figures


def room_figures(host: hosts.TestHost, n: int, runs: int) -> list[Figure]:
    """n CREATEs at once as upstream's scheduler sends them (bench/room.py), the slots freed after each run."""
    bursts = []
    room.purge(host, n)  # whatever earlier work left running on those students
    for _ in range(runs):
        try:
            bursts.append(room.burst(host, n))
        finally:
            room.purge(host, n)
    command = f"python -m bench.room --reuse {host.name} --n {n}"
    return [Figure(f"a room of {n} registering at once: {which} server ready", command,
                   [b[f"{which}_ready"] for b in bursts]) for which in ("first", "last")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", default="20,200,2000")
    parser.add_argument("--ansible-n", default="5,20")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="1,3,6")
    parser.add_argument("--reuse", help="an already converged throwaway backend: no new hosts")
    parser.add_argument("--smoke", action="store_true", help="N = 5 for both tools, one run")
    parser.add_argument("--out", default="docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.smoke:
        args.n, args.ansible_n, args.runs, args.backends = "5", "5", 1, "1"
    ns, ansible_ns = [int(x) for x in args.n.split(",")], [int(x) for x in args.ansible_n.split(",")]
    sizes = [int(x) for x in args.backends.split(",")]
    os.chdir(ROOT)
    figures: list[Figure] = []
    made: list[str] = []
    try:
        if args.reuse:
            backends = [next(h for h in hosts.running() if h.name == args.reuse)]
        else:
            backends = []
            for i in range(max(sizes)):  # the first ones one by one: the first-converge samples
                host = hosts.up(role="backend", name=f"bench-{i + 1}")
                made.append(host.name)
                backends.append(host)
            cmd, env = pyinfra_cmd("deploys/backend.py", [])
            for host in backends[:args.runs]:
                env = {"WOD_HOSTS": host.name}
                took, _ = timed(cmd, env)
                figures.append(Figure("backend first converge (one host)", shown(cmd, {"WOD_HOSTS": "bench-N"}),
                                      [took]))
            figures = [_merge(figures)]
            if len(backends) > args.runs:
                timed(cmd, {"WOD_HOSTS": ",".join(h.name for h in backends[args.runs:])})
        first = backends[0]
        cmd, env = pyinfra_cmd("deploys/backend.py", [first.name], count=True)
        figures.append(measure("backend no-change converge (one host)", cmd, env, args.runs))
        check = [PY, "-m", "wod_deploy.cli", "check", "inventories/docker.py"]
        figures.append(measure("wod-deploy check (one backend, 20 students)", check, {"WOD_HOSTS": first.name},
                               args.runs))
        for size in sizes:
            cmd, env = pyinfra_cmd("deploys/backend.py", [h.name for h in backends[:size]])
            figures.append(measure(f"backends no-change converge in parallel, {size}", cmd, env, args.runs,
                                   cpu_of=backends[:size]))
        work = ROOT / ".wod" / "bench"
        work.mkdir(parents=True, exist_ok=True)
        figures += room_figures(first, 5 if args.smoke else S.USERMAX, args.runs)
        figures += students(first, ns, ansible_ns, args.runs, ansible_inventory(first, work))
        timed(*pyinfra_cmd("deploys/backend.py", [first.name]))  # the backend as it was
    finally:
        for name in made:
            if not os.environ.get("WOD_KEEP_HOSTS"):
                hosts.down(name)
    from .report import write

    write(figures, ns, ROOT / args.out, machine(), " ".join(["make bench"] + (argv or sys.argv[1:])))
    return 0


def _merge(samples: list[Figure]) -> Figure:
    return Figure(samples[0].name, samples[0].command, [f.seconds[0] for f in samples])


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) // 1024 // 1024
    versions = {}
    for tool, cmd in (("pyinfra", [PY, "-m", "pyinfra", "--version"]),
                      ("ansible", [str(Path(PY).parent / "ansible"), "--version"])):
        try:
            versions[tool] = subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            versions[tool] = "absent"
    os_name = next((line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines()
                    if line.startswith("PRETTY_NAME=")), platform.platform())
    return {"cpu": f"{cpu}, {os.cpu_count()} cores", "cores": os.cpu_count(), "memory": f"{mem} GiB", "os": os_name,
            "python": platform.python_version(), **versions, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


if __name__ == "__main__":
    sys.exit(main())
