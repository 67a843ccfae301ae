#!/usr/bin/env python3
"""WoD watchdog (upstream's wod-kill-processes, in Python), on a backend:

- kill crypto miners, whoever runs them;
- kill a participant's processes that kept a CPU busy (>= 98%) for the last 5 minutes, unless
  the process is their single-user server or one of its kernels.

CPU is measured between two samples (what a process used during the window, not since it
started), summed per uid, and the uid comes from /proc/<pid>/status: a process that made itself
non-dumpable shows a root-owned /proc/<pid>, its status still names its real uid. The exemption
is the process tree the hub started (a kernel is a child of the server), never a command line,
which a participant writes as they like. Standalone, stdlib only: it reads /proc.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from dataclasses import dataclass

MINERS = ("packetcrypt", "ethminer", "xmrig", "minerd", "cpuminer", "t-rex", "nbminer")
SERVER = "jupyterhub-singleuser"
WINDOW, MAX_CPU = 300, 98.0
TICKS = os.sysconf("SC_CLK_TCK")
# What is read and kept of a command line: the program and its first argument (a miner's name, the
# server's path) are all the choices use; a whole one would cost the watchdog megabytes per process.
CMDLINE_READ, ARGS_KEPT = 4096, 2


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    uid: int
    started: int  # clock ticks after boot: with the pid, names one process across samples
    ticks: int  # CPU time used so far (user + system)
    name: str
    argv: tuple[str, ...]  # the first ARGS_KEPT arguments


def read(pid: str) -> Proc | None:
    """One process from /proc; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            head, rest = f.read().rsplit(")", 1)
        with open(f"/proc/{pid}/status") as f:
            uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))  # the real uid
        with open(f"/proc/{pid}/cmdline", "rb") as f:  # the participant writes it, up to 2 MB
            head_of_argv = f.read(CMDLINE_READ).split(b"\0", ARGS_KEPT)[:ARGS_KEPT]
        argv = tuple(a.decode(errors="replace") for a in head_of_argv if a)
    except (OSError, StopIteration, ValueError):
        return None
    stat = rest.split()
    return Proc(int(pid), int(stat[1]), uid, int(stat[19]), int(stat[11]) + int(stat[12]),
                head.split("(", 1)[1], argv)


def sample() -> dict[tuple[int, int], Proc]:
    procs = (read(pid) for pid in os.listdir("/proc") if pid.isdigit())
    return {(p.pid, p.started): p for p in procs if p}


def cpu(before: dict, after: dict, seconds: float) -> dict[tuple[int, int], float]:
    """% of one CPU each process used between two samples (processes in both). Pure."""
    return {key: 100.0 * (p.ticks - before[key].ticks) / TICKS / seconds
            for key, p in after.items() if key in before and seconds > 0}


def exempt(proc: Proc, procs: dict[int, Proc]) -> bool:
    """The participant's server (the hub, root, started it), or a kernel it started."""
    def is_server(p: Proc | None) -> bool:
        return bool(p and any(a.endswith(f"/{SERVER}") for a in p.argv[:2])
                    and procs.get(p.ppid) is not None and procs[p.ppid].uid == 0)
    return is_server(proc) or is_server(procs.get(proc.ppid))


def victims(before: dict, after: dict, seconds: float, students: range):
    """(pid, uid, why) to kill. Pure. A miner by name; a participant whose processes together kept
    a CPU busy over the window: each of their busy processes but the server and its kernels."""
    used = cpu(before, after, seconds)
    by_pid = {p.pid: p for p in after.values()}
    per_uid: dict[int, float] = {}
    for key, pct in used.items():
        per_uid[after[key].uid] = per_uid.get(after[key].uid, 0.0) + pct
    for key, p in sorted(after.items()):
        name = os.path.basename(p.argv[0]) if p.argv else p.name
        if any(m in name or m in p.name for m in MINERS):
            yield p.pid, p.uid, f"miner {name}"
        elif (p.uid in students and per_uid.get(p.uid, 0.0) >= MAX_CPU and used.get(key, 0.0) >= 1.0
              and not exempt(p, by_pid)):
            yield p.pid, p.uid, (f"runaway {name} ({used[key]:.0f}% CPU, uid total {per_uid[p.uid]:.0f}%, "
                                 f"over {seconds:.0f}s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uids", required=True, help="the participants' uids, FIRST:LAST")
    parser.add_argument("--log", default="/var/log/wod/watchdog.log")
    parser.add_argument("--every", type=float, default=60, help="seconds between samples")
    parser.add_argument("--window", type=float, default=WINDOW, help="seconds CPU is measured over")
    args = parser.parse_args()
    first, last = (int(u) for u in args.uids.split(":"))
    history = [(time.monotonic(), sample())]
    while True:
        time.sleep(args.every)
        now, after = time.monotonic(), sample()
        # measured from the newest sample at least a window old (miners: from the last one)
        old = [(t, s) for t, s in history if now - t >= args.window - 1]
        then, before = old[-1] if old else history[-1]
        window = now - then >= args.window - 1
        for pid, uid, why in victims(before, after, now - then, range(first, last + 1)):
            if not window and not why.startswith("miner"):
                continue
            try:
                os.kill(pid, signal.SIGKILL)
                outcome = "killed"
            except OSError as exc:
                outcome = f"not killed: {exc}"
            with open(args.log, "a") as log:
                log.write(f"{time.strftime('%F %T')} uid {uid} pid {pid}: {why}: {outcome}\n")
        history = [(t, s) for t, s in history if now - t < args.window + args.every] + [(now, after)]


if __name__ == "__main__":
    main()
