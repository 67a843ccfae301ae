"""Record the fact and operation fixtures from a converged throwaway backend (real outputs).

    .venv/bin/wod-deploy hosts up --name dev
    .venv/bin/pyinfra inventories/docker.py deploys/backend.py --limit dev -y
    .venv/bin/python -m tests.unit.record dev [DIRECTORY...]  # then converge dev again: some cases break it

A portal host (the frontend group, converged with deploys/site.py) records the portal's cases.

Each case may first break the host (its `setup`, run as root): the repair cases are recorded
from a real drift, never written by hand. Operations are run against live facts; the facts
they read (with their arguments) and the commands they yield are written down together.
"""

from __future__ import annotations

import json
import sys
from unittest.mock import patch

from pyinfra.api import FactBase
from pyinfra.context import ctx_host

from tests.unit.test_fixtures import HERE, fact_class, jsonable, operation, raw
from wod_deploy import reads
from wod_deploy.components import admin, firewall, jupyterhub, kernels, mailapi, nginx, packages, portal, system
from wod_deploy.inventory import loaded
from wod_deploy.operations.node import PUBLISH, TAKE
from wod_deploy.operations.venv import made_meanwhile
from wod_deploy.settings import load_settings
from wod_deploy.shell import sh

S_TOKEN = "/opt/jupyterhub/etc/jupyterhub/admintk.token"
PROTECTED = ["/opt/jupyterhub", "/usr/local/lib/wod", "/etc/wod", "/var/lib/wod"]
STUDENT_DRIFT = ("usermod -u 2999 student5 && chmod 0755 /student/student8 && setfacl -b /student/student9 "
                 "&& userdel student6 && useradd -M -s /bin/bash student21")


def repair(name: str, kwargs_of):
    """A teardown that runs one of our own operations on the host with live facts: the repair
    the deploy would make, without a whole converge."""
    def teardown(host):
        kwargs = kwargs_of(load_settings(host.data, host=host.name))
        with patch.object(host, "get_fact", side_effect=lambda cls, **kw: live(host, cls, kw)), \
                patch.object(host, "noop"), ctx_host.use(host):
            for command in operation(name)._inner(**kwargs):
                run(host, raw(command))
    return teardown


def live(host, cls, kwargs):
    fact = cls()
    output = run(host, fact.command(**kwargs))
    return fact.process(output) if output else fact.default()


FIX_STUDENTS = repair("students.students", lambda s: dict(
    usermin=s.USERMIN, usermax=s.USERMAX, uidbase=s.UIDBASE, gidbase=s.GIDBASE, admin=s.WODUSER, studdir=s.STUDDIR))
FIX_POSTFIX = repair("postfix.postfix", lambda s: dict(main=mailapi.main_cf(s), master=mailapi.master_cf(s)))
FIX_UFW = repair("ufw.ufw", lambda s: dict(rules=firewall.rules(s)))
HALF_DELETE = "ufw delete allow proto tcp from 0.0.0.0/0 to 0.0.0.0/0 port 8000"  # the IPv4 half only

# (directory, case, fact, kwargs, setup, teardown)
FACTS = [
    ("Account", "admin", "accounts.Account", {"user": "wodadmin"}, "", ""),
    ("Account", "missing", "accounts.Account", {"user": "nosuchuser"}, "", ""),
    ("LoginUser", "under-sudo", "accounts.LoginUser", {}, "", ""),
    ("ManagedPaths", "in-place", "files.ManagedPaths",
     {"paths": ["/etc/cron.d/wod-upd", "/opt/jupyterhub/var/jupyterhub", S_TOKEN]}, "", ""),
    ("ManagedPaths", "drifted", "files.ManagedPaths", {"paths": ["/etc/cron.d/wod-upd", "/etc/wod/absent"]},
     "chmod 0600 /etc/cron.d/wod-upd", "chmod 0644 /etc/cron.d/wod-upd"),
    ("FileLines", "present", "files.FileLines",
     {"path": "/home/wodadmin/.bashrc", "lines": system.BASHRC_LINES}, "", ""),
    ("FileLines", "one-missing", "files.FileLines",
     {"path": "/home/wodadmin/.bashrc", "lines": ["ulimit -u 641465", "ulimit -n 1024"]}, "", ""),
    ("TreeDigest", "shipped", "files.TreeDigest", {"dest": "/var/lib/wod/workshops"}, "", ""),
    ("TreeDigest", "absent", "files.TreeDigest", {"dest": "/var/lib/wod/absent"}, "", ""),
    ("WritablePaths", "nothing", "files.WritablePaths", {"user": "student1", "paths": PROTECTED}, "", ""),
    ("WritablePaths", "world-writable", "files.WritablePaths", {"user": "student1", "paths": PROTECTED},
     "install -m 0666 /dev/null /etc/wod/open && install -d -m 0777 /var/lib/wod/open",
     "rm -rf /etc/wod/open /var/lib/wod/open"),
    ("ManagedState", "in-place", "managed.ManagedState",
     {"paths": ["/etc/fail2ban/jail.local", "/etc/fail2ban/filter.d/jupyterhub.conf"], "units": ["fail2ban.service"]},
     "", ""),
    ("ManagedState", "stopped-and-missing", "managed.ManagedState",
     {"paths": ["/etc/fail2ban/jail.local", "/etc/fail2ban/absent.conf"], "units": ["fail2ban.service"]},
     "systemctl stop fail2ban", "systemctl start fail2ban"),
    ("VenvPackages", "hub-venv", "jupyterhub.VenvPackages", {"venv": "/opt/jupyterhub"}, "", ""),
    ("VenvPackages", "no-venv", "jupyterhub.VenvPackages", {"venv": "/opt/absent"}, "", ""),
    ("HubApi", "answering", "jupyterhub.HubApi", {"port": 8000}, "", ""),
    ("HubApi", "nothing-listening", "jupyterhub.HubApi", {"port": 8999}, "", ""),
    ("KernelSpecs", "three-kernels", "kernels.KernelSpecs", {"venv": "/opt/jupyterhub"}, "", ""),
    ("KernelSpecs", "no-venv", "kernels.KernelSpecs", {"venv": "/opt/absent"}, "", ""),
    ("NpmGlobalVersion", "installed", "npm.NpmGlobalVersion", {"package": "configurable-http-proxy"}, "", ""),
    ("NpmGlobalVersion", "missing", "npm.NpmGlobalVersion", {"package": "absent-package"}, "", ""),
    ("PackageVersion", "npm", "npm.PackageVersion", {"path": "/usr/local/lib/wod/npm/package.json"}, "", ""),
    ("PackageVersion", "missing", "npm.PackageVersion", {"path": "/usr/local/lib/wod/absent/package.json"}, "", ""),
    ("PostfixConfig", "mail-api", "postfix.PostfixConfig", {}, "", ""),
    ("PostfixConfig", "open-relay-on-25", "postfix.PostfixConfig", {},
     "postconf -e 'mynetworks = 0.0.0.0/0' && postconf -M 'smtp/inet=smtp inet n - y - - smtpd'", FIX_POSTFIX),
    ("ServiceStates", "running", "services.ServiceStates",
     {"units": ["jupyterhub.service", "postfix.service", "wod-watchdog.service"]}, "", ""),
    ("ServiceStates", "stopped-disabled", "services.ServiceStates",
     {"units": ["wod-watchdog.service", "absent.service"]}, "systemctl disable --now wod-watchdog",
     "systemctl enable --now wod-watchdog"),
    ("StudentAccounts", "in-place", "students.StudentAccounts", {"studdir": "/student"}, "", ""),
    ("StudentAccounts", "drifted", "students.StudentAccounts", {"studdir": "/student"}, STUDENT_DRIFT,
     FIX_STUDENTS),
    ("Container", "docker", "system.Container", {}, "", ""),
    ("Container", "vm-or-metal", "system.Container", {}, "mv /run/systemd/container /run/systemd/container.away",
     "mv /run/systemd/container.away /run/systemd/container"),
    ("Container", "no-final-newline", "system.Container", {},
     "cp -p /run/systemd/container /run/systemd/container.kept && printf docker > /run/systemd/container",
     "mv /run/systemd/container.kept /run/systemd/container"),
    ("InstalledPackages", "installed", "deb.InstalledPackages", {"packages": ["acl", "postfix", "python3-venv"]},
     "", ""),
    ("InstalledPackages", "some-missing", "deb.InstalledPackages", {"packages": ["acl", "cowsay", "sl"]}, "", ""),
    ("SysctlValues", "readable", "system.SysctlValues", {"keys": ["kernel.pid_max", "vm.max_map_count"]}, "", ""),
    ("SysctlValues", "unknown-key", "system.SysctlValues", {"keys": ["kernel.absent_value"]}, "", ""),
    ("Batch", "system", "batch.Batch", {"reads": [
        ["managed.ManagedState", {"paths": ["/etc/cron.d/wod-upd", "/usr/local/lib/wod"], "units": ["cron.service"]}],
        ["files.FileLines", {"path": "/home/wodadmin/.bashrc", "lines": system.BASHRC_LINES}]]}, "", ""),
    ("Batch", "nothing-there", "batch.Batch", {"reads": [
        ["accounts.Account", {"user": "nosuchuser"}],
        ["npm.PackageVersion", {"path": "/usr/local/lib/wod/absent/package.json"}]]}, "", ""),
    ("Batch", "staging", "batch.Batch", {"reads": [
        ["accounts.LoginUser", {}], ["pyinfra.facts.files.Directory", {"path": "/var/cache/wod-deploy"}]]}, "", ""),
    ("Ufw", "active", "ufw.Ufw", {}, "", ""),
    ("Ufw", "disabled-rule-deleted", "ufw.Ufw", {}, "ufw delete allow 8000/tcp && ufw disable", FIX_UFW),
    ("Ufw", "a-rule-left-to-ufw", "ufw.Ufw", {}, "ufw allow 2223/tcp comment 'a note'",
     "ufw delete allow 2223/tcp comment 'a note'"),
    ("Ufw", "a-rule-in-one-family", "ufw.Ufw", {}, HALF_DELETE, FIX_UFW),
]


def operations(s) -> list[tuple]:
    """(directory, case, operation, kwargs, setup, teardown), from the dev host's own settings."""
    students = dict(usermin=s.USERMIN, usermax=s.USERMAX, uidbase=s.UIDBASE, gidbase=s.GIDBASE, admin=s.WODUSER,
                    studdir=s.STUDDIR)
    specs = dict(venv=s.JPHUB, kernels=kernels.installers(s))
    npm = dict(version=jupyterhub.NPM[0], sha512=jupyterhub.NPM[1], dest=f"{s.lib_dir}/npm")
    pins = jupyterhub.pins(s)
    admin_user = dict(user=s.WODUSER, home=s.admin_home, shell="/bin/bash", create_home=True)
    rules = admin.sudoers_file(s)
    sudoers = dict(path=rules.path, content=rules.content)
    postfix = dict(main=mailapi.main_cf(s), master=mailapi.master_cf(s))
    return [
        ("students", "in-place", "students.students", students, "", ""),
        ("students", "repair", "students.students", students, STUDENT_DRIFT, FIX_STUDENTS),
        ("students", "clean", "students.students", {**students, "usermax": 2, "clean": True}, "", ""),
        ("kernelspecs", "registered", "kernels.kernelspecs", specs, "", ""),
        ("kernelspecs", "one-missing", "kernels.kernelspecs", specs, f"{s.JPHUB}/bin/jupyter kernelspec remove -y bash",
         repair("kernels.kernelspecs", lambda _: specs)),
        ("venv", "in-place", "venv.venv", {"path": s.JPHUB, "pins": pins}, "", ""),
        ("venv", "pin-bumped", "venv.venv", {"path": s.JPHUB, "pins": [*pins[:-1], "sshkernel==0.11.0"]}, "", ""),
        ("venv", "no-venv", "venv.venv", {"path": "/opt/absent-venv", "pins": pins}, "", ""),
        ("account", "in-place", "accounts.account", admin_user, "", ""),
        ("account", "home-taken", "accounts.account", admin_user, f"chown root {s.admin_home}",
         f"chown {s.WODUSER} {s.admin_home}"),
        ("secret_file", "in-place", "files.secret_file", {"path": S_TOKEN}, "", ""),
        ("secret_file", "loose-mode", "files.secret_file", {"path": S_TOKEN}, f"chmod 0644 {S_TOKEN}",
         f"chmod 0600 {S_TOKEN}"),
        ("secret_file", "absent", "files.secret_file", {"path": "/etc/wod/absent.token"}, "", ""),
        ("sudoers", "in-place", "files.sudoers", sudoers, "", ""),
        ("sudoers", "edited", "files.sudoers", sudoers, f"echo '# edited' >> {sudoers['path']}",
         repair("files.sudoers", lambda _: sudoers)),
        ("lines_present", "present", "files.lines_present",
         {"path": "/home/wodadmin/.bashrc", "lines": system.BASHRC_LINES}, "", ""),
        ("lines_present", "one-missing", "files.lines_present",
         {"path": "/home/wodadmin/.bashrc", "lines": ["ulimit -u 641465", "ulimit -n 1024"]}, "", ""),
        ("tree", "shipped", "files.tree", {"local_tar": "workshops.tar", "digest": "DIGEST", "dest": s.workshops_dir},
         "", ""),
        ("tree", "changed", "files.tree",
         {"local_tar": "workshops.tar", "digest": "0123456789abcdef0123", "dest": s.workshops_dir}, "", ""),
        ("apt_packages", "installed", "apt.apt_packages", {"packages": packages.packages(s)}, "", ""),
        ("apt_packages", "missing", "apt.apt_packages", {"packages": ["acl", "cowsay", "sl"]}, "", ""),
        ("apt_packages", "meanwhile", "apt.apt_packages",
         {"packages": ["acl", "cowsay", "sl"], "first": ["cowsay"],
          "meanwhile": made_meanwhile("/opt/absent-venv", pins)},
         "", ""),
        ("npm_cli", "in-place", "npm.npm_cli", npm, "", ""),
        ("npm_cli", "other-version", "npm.npm_cli", {**npm, "version": "10.9.8"}, "", ""),
        ("npm_global", "installed", "npm.npm_global", {"package": "configurable-http-proxy", "version": s.CHP_VERSION},
         "", ""),
        ("npm_global", "other-version", "npm.npm_global", {"package": "configurable-http-proxy", "version": "4.6.2"},
         "", ""),
        ("postfix", "in-place", "postfix.postfix", postfix, "", ""),
        ("postfix", "open-relay-on-25", "postfix.postfix", postfix,
         "postconf -e 'mynetworks = 0.0.0.0/0' && postconf -M 'smtp/inet=smtp inet n - y - - smtpd'", FIX_POSTFIX),
        ("ufw", "in-place", "ufw.ufw", {"rules": firewall.rules(s)}, "", ""),
        ("ufw", "disabled-rule-deleted", "ufw.ufw", {"rules": firewall.rules(s)},
         "ufw delete allow 8000/tcp && ufw disable", FIX_UFW),
        ("ufw", "a-rule-in-one-family", "ufw.ufw", {"rules": firewall.rules(s)}, HALF_DELETE, FIX_UFW),
    ]


SITE = {"served": portal.SERVED, "work": portal.WORK}
DEFACE = f"echo defaced >> {portal.SERVED}/index.html && touch {portal.SERVED}/new.html"
REPUBLISH = sh('r="$(readlink %s)" && bash -c %s take %s %s "$r.new" none && sh -c %s publish "$r" %s', portal.SERVED,
               TAKE, portal.USER, f"{portal.WORK}/public", PUBLISH, portal.SERVED)
DEFAULT_SITE = f"ln -s /etc/nginx/sites-available/default {nginx.DEFAULT_SITE}"
PORTAL_FACTS = [
    ("ServedSite", "published", "node.ServedSite", SITE, "", ""),
    ("ServedSite", "defaced", "node.ServedSite", SITE, DEFACE, REPUBLISH),
    ("ServedSite", "never-built", "node.ServedSite", {"served": "/opt/absent/current", "work": "/opt/absent"},
     "", ""),
]


def portal_operations(s) -> list[tuple]:
    site = dict(source=portal.SOURCE, digest="DIGEST", user=portal.USER, work=portal.WORK, releases=portal.RELEASES,
                served=portal.SERVED, build=portal.BUILD)
    return [
        ("static_site", "published", "node.static_site", site, "", ""),
        ("static_site", "defaced", "node.static_site", site, DEFACE, REPUBLISH),
        ("static_site", "source-changed", "node.static_site", {**site, "digest": "0123456789abcdef" * 4}, "", ""),
        ("absent", "absent", "files.absent", {"path": nginx.DEFAULT_SITE}, "", ""),
        ("absent", "present", "files.absent", {"path": nginx.DEFAULT_SITE}, DEFAULT_SITE, f"rm {nginx.DEFAULT_SITE}"),
    ]


def run(host, command) -> list[str]:
    if callable(command):
        command(host)
        return []
    ok, output = host.run_shell_command(command, _sudo=True)
    if not ok:
        raise SystemExit(f"{command!r} failed: {output.stderr}")
    return output.stdout_lines


def fact_name(cls) -> str:
    module = cls.__module__
    return f"pyinfra:{module.removeprefix('pyinfra.facts.')}.{cls.__name__}" if module.startswith("pyinfra.") \
        else f"{module.removeprefix('facts.')}.{cls.__name__}"


def write(directory: str, case: str, data: dict) -> None:
    path = HERE / directory / case
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"recorded {path.relative_to(HERE)}.json")


def record_fact(host, directory, case, name, kwargs, setup, teardown) -> None:
    fact = fact_class(name)()
    if setup:
        run(host, setup)
    output = run(host, fact.command(**kwargs))
    if teardown:
        run(host, teardown)
    value = fact.process(output) if output else fact.default()
    write(f"facts/{directory}", case, {"fact": name, "kwargs": kwargs, "command": fact.command(**kwargs),
                                       "output": output, "value": jsonable(value)})


def record_operation(host, directory, case, name, kwargs, setup, teardown) -> None:
    reads.clear()  # each case is a run of its own: nothing read for the one before
    if setup:
        run(host, setup)
    read = []

    def get_fact(cls: type[FactBase], **fact_kwargs):
        fact = cls()
        output = run(host, fact.command(**fact_kwargs))
        value = fact.process(output) if output else fact.default()
        read.append({"fact": fact_name(cls), "kwargs": jsonable(fact_kwargs), "value": jsonable(value)})
        return value

    noted = []
    with patch.object(host, "get_fact", side_effect=get_fact), \
            patch.object(host, "noop", side_effect=noted.append), ctx_host.use(host):
        if name == "files.tree" and kwargs["digest"] == "DIGEST":  # in place: the digest the host has
            kwargs = {**kwargs, "digest": get_fact(fact_class("files.TreeDigest"), dest=kwargs["dest"])}
            read.clear()
        if name == "node.static_site" and kwargs["digest"] == "DIGEST":  # the build it serves
            kwargs = {**kwargs, "digest": get_fact(fact_class("node.ServedSite"), **SITE)["release"]}
            read.clear()
        commands = [raw(c) for c in operation(name)._inner(**kwargs)]
    if teardown:
        run(host, teardown)
    data = {"operation": name, "kwargs": jsonable(kwargs), "facts": read, "commands": commands}
    if noted and not commands:  # (an operation that yields may note what its inner operations skip)
        data["noop"] = noted[0]
    write(f"operations/{directory}", case, data)


def main(name: str, only: set[str]) -> int:
    """Record every case, or only those whose directory is in `only`."""
    with loaded("inventories/docker.py") as inv:
        host = inv.inventory.get_host(name)
        host.connect(raise_exceptions=True)
        settings = load_settings(host.data, host=host.name, inventory=inv.inventory)
        portal_host = "frontend" in host.groups
        for case in PORTAL_FACTS if portal_host else FACTS:
            if not only or case[0] in only:
                record_fact(host, *case)
        for case in (portal_operations if portal_host else operations)(settings):
            if not only or case[0] in only:
                record_operation(host, *case)
        if not portal_host:
            run(host, "systemctl reload postfix")  # the drift cases edited main.cf under its feet
        host.disconnect()
    print(f"now converge {name} again: .venv/bin/pyinfra inventories/docker.py deploys/backend.py --limit {name} -y")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dev", set(sys.argv[2:])))
