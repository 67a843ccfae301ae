"""docs/benchmarks.md and its plot from one bench run (bench/run.py)."""

from __future__ import annotations

import re
import statistics
from pathlib import Path


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares: seconds = fixed + per_student * N (one point: all of it per student)."""
    if len(points) == 1:
        n, s = points[0]
        return 0.0, s / n
    mean_n = sum(n for n, _ in points) / len(points)
    mean_s = sum(s for _, s in points) / len(points)
    slope = sum((n - mean_n) * (s - mean_s) for n, s in points) / sum((n - mean_n) ** 2 for n, _ in points)
    return mean_s - slope * mean_n, slope


def series(figures, prefix: str) -> dict[int, float]:
    """{N: median seconds} of the figures named `<prefix>, N=<n>`."""
    found = {}
    for f in figures:
        if f.name.startswith(prefix) and (m := re.search(r", N=(\d+)$", f.name)):
            found[int(m.group(1))] = f.median
    return found


def cpu_bound(runs: dict, cores: int | None) -> list[str]:
    """What the parallel runs cost in CPU, here where the hosts share the controller's cores."""
    if not cores or not all("hosts_cpu" in f.extra for f in runs.values()):
        return []
    lines = ["", f"The throwaway hosts run on this machine's {cores} cores, beside the controller, so a run "
             f"cannot take less than (the controller's CPU + the hosts' CPU) / {cores} (medians of the same runs):",
             "", "| backends | wall | controller CPU | hosts' CPU | CPU / cores |", "| --- | --- | --- | --- | --- |"]
    for k, f in sorted(runs.items()):
        mine, theirs = (statistics.median(f.extra[key]) for key in ("controller_cpu", "hosts_cpu"))
        lines.append(f"| {k} | {f.median:.2f} s | {mine:.2f} s | {theirs:.2f} s | {(mine + theirs) / cores:.2f} s |")
    return lines


def write(figures, ns: list[int], out: Path, machine: dict, command: str) -> None:
    ours = series(figures, "wod-deploy students no-change")
    ansible = series(figures, "Ansible students no-change")
    fixed, per_student = fit(sorted(ansible.items()))
    estimate = {n: ansible.get(n, fixed + per_student * n) for n in ns}
    lines = ["# Benchmarks", "", f"One run of `{command}`, {machine['date']}, on this machine:", ""]
    lines += [f"- {key}: {value}" for key, value in machine.items() if key not in ("date", "cores")]
    lines += ["", "Every figure: the minimum and the median of its runs, in seconds, and the command that made it "
              "(on throwaway Debian 12 backends in Docker, over SSH to 127.0.0.1).", "",
              "| figure | runs | min | median | command |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {f.name} | {len(f.seconds)} | {f.low:.2f} | {f.median:.2f} | `{f.command}` |" for f in figures]
    lines += ["", "## Students, no change: wod-deploy beside upstream's Ansible tasks", "",
              f"Ansible was measured at N = {', '.join(map(str, sorted(ansible)))}; beyond, its time is "
              f"extrapolated linearly from those medians: {fixed:.1f} s + {per_student:.3f} s per student "
              "(each student is five task items: group, user, hub user, two ACLs).", "",
              "| N | wod-deploy (median) | Ansible (median) | Ansible is slower by |", "| --- | --- | --- | --- |"]
    for n in ns:
        if n in ours:
            measured = "measured" if n in ansible else "extrapolated"
            lines.append(f"| {n} | {ours[n]:.2f} s | {estimate[n]:.1f} s ({measured}) | "
                         f"{estimate[n] / ours[n]:.0f}x |")
    runs = {int(m.group(1)): f for f in figures
            if (m := re.match(r"backends no-change converge in parallel, (\d+)$", f.name))}
    parallel = {k: f.median for k, f in runs.items()}
    if len(parallel) > 1:
        one, most = parallel[min(parallel)], max(parallel)
        lines += ["", "## Backends in parallel (no change)", "",
                  *(f"- {k} backend{'s' if k > 1 else ''}: {v:.1f} s ({v / one:.2f}x one)"
                    for k, v in sorted(parallel.items())),
                  "", f"{most} backends take {parallel[most] / one:.2f} times the time of one."]
        lines += cpu_bound(runs, machine.get("cores"))
    trips = next((f.extra["round_trips"] for f in figures
                  if f.name == "backend no-change converge (one host)" and "round_trips" in f.extra), None)
    if trips:
        lines += ["", "## Remote round trips of a no-change backend converge, per component", "",
                  "Each under the component whose operation made it: an unchanged host's reads are all made "
                  "at the first read (wod_deploy/reads.py).", "",
                  "| component | round trips |", "| --- | --- |",
                  *(f"| {k} | {v} |" for k, v in sorted(trips.items(), key=lambda kv: -kv[1])),
                  f"| total | {sum(trips.values())} |"]
    plot = out.with_suffix(".png")
    lines += ["", f"![students no-change, wod-deploy and Ansible]({plot.name})", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    _plot(ours, ansible, estimate, plot)


def _plot(ours: dict, ansible: dict, estimate: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    ax.plot(sorted(ours), [ours[n] for n in sorted(ours)], "o-", label="wod-deploy (measured)")
    ax.plot(sorted(ansible), [ansible[n] for n in sorted(ansible)], "s-", label="Ansible (measured)")
    beyond = sorted(n for n in estimate if n not in ansible)
    if beyond:
        start = max(ansible)
        ax.plot([start, *beyond], [ansible[start], *(estimate[n] for n in beyond)], "s--",
                label="Ansible (extrapolated)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("students (N)")
    ax.set_ylabel("no-change run (s)")
    ax.set_title("Students, no change: wod-deploy and upstream's Ansible tasks")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
