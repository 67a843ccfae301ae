"""WoD's check_system baseline. On every role (one declaration, `shared`): WODUSER's limits and
ulimits, logind, time sync, the daily update job. On a backend also: kernel values, the
participants' skeleton and limits, hosts, the weekly cleanup, the watchdog, and the directories
WoD's own code and logs live in.

Kernel values are persisted in /etc/sysctl.d and applied at once, except in a container, whose
kernel belongs to its host (/proc/sys is read-only there): then only the file is managed, and
systemd-timesyncd (ConditionVirtualization) is enabled but not expected to run. Both are decided
on the host when it runs, so preparing a deploy reads nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pyinfra.api import deploy as pyinfra_deploy
from pyinfra.operations import server, systemd
from pyinfra.operations.util import any_changed

from facts.files import FileLines
from facts.system import Container, SysctlValues

from .. import managed, reads
from ..checks import expect
from ..managed import Directory, File, Gone, Moved, Service, render
from ..operations.files import lines_present
from ..settings import Settings
from ..shell import sh

RUNTIME = Path(__file__).parents[1] / "runtime"
SYSCTL_FILE = "/etc/sysctl.d/90-wod.conf"
WATCHDOG_UNIT = "/etc/systemd/system/wod-watchdog.service"
# upstream's values for WODUSER (check_system.yml)
ADMIN_LIMITS = {"nproc": 800000, "nofile": 65535}
BASHRC_LINES = ["ulimit -u 641465", "ulimit -n 65535"]
PROFILE_LINES = ["export EDITOR=vim"]
# Where upstream's own schedulers go when its backend is adopted: kept, no longer run.
RETIRED = "/var/backups/wod-deploy/upstream"


def sysctl_file(s: Settings) -> File:
    return File(SYSCTL_FILE, render("sysctl.conf.j2", s))


def runtime(s: Settings) -> list[File]:
    """The code the backend runs (wod_deploy/runtime/: the mail API, the watchdog, the hub's
    helpers), shipped whole as the package wod_runtime: a new module needs no edit here. Here,
    not in the mail API, because the hub's config and the watchdog import from it, and both start
    before the mail API is laid down."""
    return [File(f"{s.runtime_dir}/{module.name}", module.read_text()) for module in sorted(RUNTIME.glob("*.py"))]


def runtime_module(s: Settings, name: str) -> File:
    return next(f for f in runtime(s) if f.path == f"{s.runtime_dir}/{name}")


# The runtime's modules as wod-deploy laid them out before wod_runtime/, beside it.
FLAT_LAYOUT = ("mailapi.py", "naming.py", "render.py", "peers.py", "hubdb.py", "watchdog.py")


def watchdog_unit(s: Settings) -> File:
    return File(WATCHDOG_UNIT, render("wod-watchdog.service.j2", s))


def minute(s: Settings, salt: str) -> int:
    """Upstream's "random minute seeded by the host name": spread the fleet, stable per host."""
    return int(hashlib.sha1(f"{s.WODBEEXTFQDN}{salt}".encode()).hexdigest(), 16) % 60


def retired() -> list[Moved]:
    """Upstream's schedulers on a backend its Ansible installed, moved aside before ours start.
    wod-deliver would re-run check_backend.yml every night (the venv back to WODUSER, its own
    config and .procmailrc), wod-check-template and wod-kill-processes run upstream's scripts
    beside ours (the watchdog is wod-kill-processes, in Python). wod-npm-app: the api-db's pm2."""
    crons = [Moved(f"/etc/cron.d/{name}", f"{RETIRED}/cron.d/{name}") for name in ("wod-deliver", "wod-check-template")]
    units = [Moved(f"/etc/systemd/system/{unit}", f"{RETIRED}/systemd/{unit}",
                   before=sh("systemctl disable --now %s 2>/dev/null || true", unit))
             for unit in ("wod-kill-processes.service", "wod-npm-app.service")]
    return [*crons, *units]


def shared(s: Settings, students: str | None = None) -> list[managed.Item]:
    """The baseline every role gets (upstream installs it on all three): WODUSER's limits, logind,
    the daily update job, time sync. `students`: the participants' uid range, on a backend."""
    return [*shared_directories(s), *shared_files(s, students), *shared_services()]


def shared_directories(s: Settings) -> list[managed.Item]:
    # on root's PATH, so root's alone (upstream gives both to WODUSER)
    return [Directory("/usr/local/bin"), Directory(s.lib_dir)]


def shared_files(s: Settings, students: str | None = None) -> list[managed.Item]:
    return [
        File("/etc/security/limits.d/wod.conf",
             render("limits.conf.j2", s, admin_limits=ADMIN_LIMITS, students=students)),
        File("/etc/systemd/logind.conf.d/wod.conf", render("logind.conf.j2", s)),
        File("/usr/local/bin/wod-upd", render("wod-upd.j2", s), mode=0o755),
        File("/etc/cron.d/wod-upd", render("cron-wod-upd.j2", s, minute=minute(s, "upd"))),
    ]


def shared_services() -> list[managed.Item]:
    return [Service("systemd-timesyncd", in_container=False), Service("cron")]


def owned(s: Settings, groups=("backend",)) -> list[managed.Item]:
    """Everything this component owns on a host in `groups`, in the order the deploy lays it down:
    the shared baseline, and on a backend what its participants and WoD's runtime need."""
    if "backend" not in groups:
        return shared(s)
    students = f"{s.UIDBASE + s.USERMIN}:{s.UIDBASE + s.USERMAX}"  # pam_limits' uid range
    return [
        *retired(),
        *shared_directories(s), Directory("/usr/local/share"),
        Directory(s.etc_dir), Directory(s.log_dir, mode=0o750), Directory(s.data_dir),
        Directory(s.runtime_dir), *runtime(s), *(Gone(f"{s.lib_dir}/{name}") for name in FLAT_LAYOUT),
        Directory("/etc/skel/.ssh", mode=0o700),
        *shared_files(s, students),
        sysctl_file(s),
        File("/etc/skel/.bash_aliases", render("skel.bash_aliases.j2", s)),
        File("/etc/skel/.ssh/config", render("skel.ssh_config.j2", s)),
        File("/etc/skel/.ssh/authorized_keys", render("skel.authorized_keys.j2", s), mode=0o600),
        File("/usr/local/bin/wod-cleanup-processes", render("wod-cleanup-processes.j2", s), mode=0o755),
        File("/etc/cron.d/wod-cleanup-processes",
             render("cron-wod-cleanup-processes.j2", s, minute=minute(s, "cleanup"))),
        watchdog_unit(s),
        *shared_services(),
        Service("wod-watchdog"),
    ]


def lines(s: Settings, groups=("backend",)) -> dict[str, list[str]]:
    """Whole lines this component keeps in files others own."""
    wanted = {f"{s.admin_home}/.bashrc": BASHRC_LINES, f"{s.admin_home}/.profile": PROFILE_LINES}
    if s.WODBEEXTIP and "backend" in groups:
        wanted["/etc/hosts"] = [render("hosts.j2", s).strip()]
    return wanted


@pyinfra_deploy("System")
def deploy(settings: Settings):
    from pyinfra import host  # the host being deployed: its groups say what it runs

    s, backend = settings, "backend" in host.groups
    items, kept = owned(s, host.groups), lines(s, host.groups)
    reads.together(managed.state_read(items), reads.read(Container),
                   *(reads.read(FileLines, path=path, lines=wanted) for path, wanted in kept.items()))
    ops = managed.deploy([i for i in items if not isinstance(i, Service)], "System", read=items)
    if backend:
        server.shell(name="Apply kernel values (a container's are its host's)",
                     commands=[sh("systemd-detect-virt -q --container || sysctl -q -p %s", SYSCTL_FILE)],
                     _if=ops[sysctl_file(s)].did_change)
    for path, wanted in kept.items():
        lines_present(name=f"Lines in {path}", path=path, lines=wanted)
    if backend:
        code, unit = runtime_module(s, "watchdog.py"), watchdog_unit(s)  # a change to either restarts it
        systemd.daemon_reload(name="Reload units (watchdog, upstream's retired)",
                              _if=any_changed(ops[unit], *(ops[i] for i in retired() if i.path.endswith(".service"))))
    managed.deploy([i for i in items if isinstance(i, Service)], "System", read=items)
    if backend:
        systemd.service(name="Restart the watchdog (changed)", service="wod-watchdog", restarted=True,
                        _if=any_changed(ops[code], ops[unit]))


def checks(settings: Settings, probe):
    s, groups = settings, probe.host.groups
    in_container = bool(probe(Container))
    yield from managed.checks("system", owned(s, groups), probe)
    for path, wanted in lines(s, groups).items():
        present = probe(FileLines, path=path, lines=wanted)
        yield expect("system.lines", path, " | ".join(wanted),
                     " | ".join(line if ok else f"missing: {line}" for line, ok in zip(wanted, present)))
    if not in_container and "backend" in groups:  # a container's kernel values belong to its host
        runtime = probe(SysctlValues, keys=sorted(s.SYSCTL))
        for key, value in sorted(s.SYSCTL.items()):
            yield expect("system.sysctl", key, str(value), runtime.get(key))
