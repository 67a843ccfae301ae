"""WoD's check_system baseline: limits, kernel values, skeleton, logind, time, hosts, cron, watchdog.

Kernel values are persisted in /etc/sysctl.d and applied at once, except in a container, whose
kernel belongs to its host (/proc/sys is read-only there): then only the file is managed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

from facts.services import ServiceStates
from facts.system import Container, FileLines, SysctlValues

from . import managed
from .admin import home
from .compliance import expect
from .managed import Managed, put, render
from .operations import lines_present
from .settings import Settings

RUNTIME = Path(__file__).parent / "runtime"
SYSCTL_FILE = "/etc/sysctl.d/90-wod.conf"
# upstream's values for WODUSER (check_system.yml)
ADMIN_LIMITS = {"nproc": 800000, "nofile": 65535}
BASHRC_LINES = ["ulimit -u 641465", "ulimit -n 65535"]


def minute(s: Settings, salt: str) -> int:
    """Upstream's "random minute seeded by the host name": spread the fleet, stable per host."""
    return int(hashlib.sha1(f"{s.WODBEEXTFQDN}{salt}".encode()).hexdigest(), 16) % 60


def managed_files(s: Settings) -> list[Managed]:
    limits = "".join(f"{s.WODUSER} {kind} {item} {value}\n"
                     for item, value in ADMIN_LIMITS.items() for kind in ("soft", "hard"))
    sysctl = "".join(f"{k} = {v}\n" for k, v in sorted(s.SYSCTL.items()))
    cleanup = (f"#!/bin/sh\n# managed by wod-deploy: stray Jupyter processes older than a day\n"
               f"ps -eo user=,etimes=,pid=,args= | awk '$1 != \"root\" && $1 != \"{s.WODUSER}\" "
               f"&& $2 > 86400 && $4 ~ /jupyter/ {{print $3}}' | xargs -r kill\n")
    return [
        Managed("/etc/security/limits.d/wod.conf", "# managed by wod-deploy\n" + limits),
        Managed(SYSCTL_FILE, "# managed by wod-deploy\n" + sysctl),
        Managed("/etc/systemd/logind.conf.d/wod.conf", "# managed by wod-deploy\n[Login]\nUserTasksMax=100000\n"),
        Managed("/etc/skel/.bash_aliases", render("skel.bash_aliases.j2", s)),
        Managed("/etc/skel/.ssh/config", render("skel.ssh_config.j2", s)),
        Managed("/etc/skel/.ssh/authorized_keys", "", mode=0o600),
        Managed("/usr/local/bin/wod-upd", "#!/bin/sh\n# managed by wod-deploy\napt-get update -qq && "
                "DEBIAN_FRONTEND=noninteractive apt-get -y -qq upgrade\n", mode=0o755),
        Managed("/usr/local/bin/wod-cleanup-processes", cleanup, mode=0o755),
        Managed("/etc/cron.d/wod-upd", f"# managed by wod-deploy\n{minute(s, 'upd')} 3 * * * root "
                "/usr/local/bin/wod-upd >/dev/null 2>&1\n"),
        Managed("/etc/cron.d/wod-cleanup-processes", f"# managed by wod-deploy\n{minute(s, 'cleanup')} 4 * * 0 root "
                "/usr/local/bin/wod-cleanup-processes\n"),
        Managed("/usr/local/lib/wod/watchdog.py", (RUNTIME / "watchdog.py").read_text()),
        Managed("/etc/systemd/system/wod-watchdog.service", render("wod-watchdog.service.j2", s)),
    ]


def hosts_lines(s: Settings) -> list[str]:
    return [render("hosts.j2", s).strip()] if s.WODBEEXTIP else []


@deploy("System baseline")
def system(settings: Settings):
    s = settings
    in_container = host.get_fact(Container)
    files.directory(name="/etc/skel/.ssh", path="/etc/skel/.ssh", mode="0700")
    files.directory(name="/usr/local/lib/wod", path="/usr/local/lib/wod", mode="0755")
    files.directory(name="/var/log/wod", path="/var/log/wod", mode="0750")
    written = {f.path: put(f, f"System: {f.path}") for f in managed_files(s)}
    if not in_container:
        server.shell(name="Apply kernel values", commands=[f"sysctl -q -p {SYSCTL_FILE}"],
                     _if=written[SYSCTL_FILE].did_change)
    lines_present(name=f"ulimits in {s.WODUSER}'s .bashrc", path=f"{home(s)}/.bashrc", lines=BASHRC_LINES)
    lines_present(name=f"EDITOR in {s.WODUSER}'s .profile", path=f"{home(s)}/.profile", lines=["export EDITOR=vim"])
    if s.WODBEEXTIP:
        lines_present(name="/etc/hosts entry for the backend", path="/etc/hosts", lines=hosts_lines(s))
    systemd.service(name="Time sync enabled", service="systemd-timesyncd", enabled=True,
                    running=None if in_container else True)
    systemd.service(name="cron enabled and running", service="cron", running=True, enabled=True)
    unit = written["/etc/systemd/system/wod-watchdog.service"]
    systemd.daemon_reload(name="Reload units (watchdog)", _if=unit.did_change)
    systemd.service(name="Watchdog enabled and running", service="wod-watchdog", running=True, enabled=True)
    systemd.service(name="Restart the watchdog (changed)", service="wod-watchdog", restarted=True,
                    _if=any_changed(unit, written["/usr/local/lib/wod/watchdog.py"]))


def checks(settings: Settings, probe):
    s = settings
    yield from managed.checks("system.file", managed_files(s), probe)
    for path, lines in ((f"{home(s)}/.bashrc", BASHRC_LINES), (f"{home(s)}/.profile", ["export EDITOR=vim"]),
                        ("/etc/hosts", hosts_lines(s))):
        if lines:
            present = probe(FileLines, path=path, lines=lines)
            yield expect("system.lines", path, " | ".join(lines),
                         " | ".join(line if ok else f"missing: {line}" for line, ok in zip(lines, present)))
    container = probe(Container)
    if not container:  # a container's kernel values belong to its host
        runtime = probe(SysctlValues, keys=sorted(s.SYSCTL))
        for key, value in sorted(s.SYSCTL.items()):
            yield expect("system.sysctl", key, str(value), runtime.get(key))
    units = ["systemd-timesyncd.service", "cron.service", "wod-watchdog.service"]
    states = probe(ServiceStates, units=units)
    for unit in units:
        want_active = not (container and unit == "systemd-timesyncd.service")
        state = states[unit]
        yield expect("system.service", unit, "active, enabled" if want_active else "enabled",
                     f"{state['active']}, {state['enabled']}" if want_active else state["enabled"])
