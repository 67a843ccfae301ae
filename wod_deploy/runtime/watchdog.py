#!/usr/bin/env python3
"""WoD watchdog (upstream's wod-kill-processes, in Python): every minute, on a backend,

- kill crypto miners, whoever runs them;
- kill student processes older than 5 minutes burning >= 98% of a CPU, unless whitelisted
  (the single-user server and kernels are allowed to work hard).

Standalone, stdlib only: it reads /proc.
"""

from __future__ import annotations

import argparse
import os
import pwd
import signal
import time

MINERS = ("packetcrypt", "ethminer", "xmrig", "minerd", "cpuminer", "t-rex", "nbminer")
WHITELIST = ("jupyterhub-singleuser", "ipykernel_launcher", "bash_kernel", "sshkernel")
MIN_AGE, MAX_CPU = 300, 98.0
TICKS = os.sysconf("SC_CLK_TCK")


def processes():
    """(pid, user, cmdline, age seconds, cpu %) of every process, from /proc."""
    uptime = float(open("/proc/uptime").read().split()[0])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            uid = os.stat(f"/proc/{pid}").st_uid
        except (OSError, IndexError):
            continue
        age = uptime - int(stat[19]) / TICKS
        cpu = 100.0 * (int(stat[11]) + int(stat[12])) / TICKS / age if age > 0 else 0.0
        try:
            user = pwd.getpwuid(uid).pw_name
        except KeyError:
            user = str(uid)
        yield int(pid), user, cmd.strip(), age, cpu


def victims(procs, student_prefix: str = "student"):
    """Which processes to kill, and why. Pure."""
    for pid, user, cmd, age, cpu in procs:
        name = cmd.split(" ", 1)[0].rsplit("/", 1)[-1]
        if any(m in name for m in MINERS):
            yield pid, user, f"miner {name}"
        elif (user.startswith(student_prefix) and age > MIN_AGE and cpu >= MAX_CPU
              and not any(w in cmd for w in WHITELIST)):
            yield pid, user, f"runaway {name} ({cpu:.0f}% CPU for {age:.0f}s)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--studdir", default="/student")
    parser.add_argument("--log", default="/var/log/wod/watchdog.log")
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args()
    while True:
        for pid, user, why in victims(processes()):
            try:
                os.kill(pid, signal.SIGKILL)
                outcome = "killed"
            except OSError as exc:
                outcome = f"not killed: {exc}"
            with open(args.log, "a") as log:
                log.write(f"{time.strftime('%F %T')} {user} pid {pid}: {why}: {outcome}\n")
        if args.once:
            return
        time.sleep(60)


if __name__ == "__main__":
    main()
