"""Custom pyinfra operations: each reads its facts and yields only what differs (for students: one
fact read and at most one script, however many there are)."""

from __future__ import annotations

import hashlib
import shlex

from pyinfra import host, logger
from pyinfra.api import FileUploadCommand, OperationError, StringCommand, operation
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import File, Sha1File

from facts.kernels import KernelSpecs
from facts.npm import NpmGlobalVersion
from facts.postfix import PostfixConfig
from facts.students import StudentAccounts
from facts.system import FileLines, TreeDigest, Ufw

HOME_MODE = 0o770  # 0700 chmod, then the admin ACL raises the mask (group class) to rwx


def admin_acl(admin: str) -> set[str]:
    """The getfacl entries that give the admin rwx on a home, now and for what is created in it."""
    return {f"user:{admin}:rwx", f"default:user:{admin}:rwx"}


def _ids(ns) -> str:
    return " ".join(str(n) for n in sorted(ns))


def student_plan(accounts: dict, usermin: int, usermax: int, uidbase: int, gidbase: int,
                 studdir: str, admin: str) -> dict[str, list[int]]:
    """Which student numbers need which repair, from one StudentAccounts fact. Pure."""
    users, groups, homes = accounts.get("users", {}), accounts.get("groups", {}), accounts.get("homes", {})
    want_acl = admin_acl(admin)
    plan: dict[str, list[int]] = {k: [] for k in (
        "add_group", "fix_gid", "add_user", "fix_uid", "fix_user", "add_home", "fix_home", "fix_acl")}
    for n in range(usermin, usermax + 1):
        name, uid, gid, home = f"student{n}", uidbase + n, gidbase + n, f"{studdir}/student{n}"
        if name not in groups:
            plan["add_group"].append(n)
        elif groups[name] != gid:
            plan["fix_gid"].append(n)
        user = users.get(name)
        if user is None:
            plan["add_user"].append(n)
        else:
            if user["uid"] != uid:
                plan["fix_uid"].append(n)
            if user["gid"] != gid or user["home"] != home or user["shell"] != "/bin/bash":
                plan["fix_user"].append(n)
        state = homes.get(home)
        if state is None:
            plan["add_home"].append(n)
            continue
        if (state["uid"], state["gid"]) != (uid, gid) or state["mode"] != HOME_MODE:
            plan["fix_home"].append(n)
        if not want_acl <= set(state["acl"]):
            plan["fix_acl"].append(n)
    return plan


# One shell function per repair; the script calls it for a list of numbers, so its size grows
# by a few bytes per student (the kernel caps one argument at 128 KiB).
_FUNCTIONS = r"""
set -e
acl() { setfacl -R -m "u:$ADMIN:rwX" "$1"; find "$1" -type d -exec setfacl -m "d:u:$ADMIN:rwx" {} +; }
add_group() { groupadd -g $((GIDBASE + $1)) student$1; }
fix_gid() { groupmod -g $((GIDBASE + $1)) student$1; }
add_user() { useradd -M -u $((UIDBASE + $1)) -g student$1 -d "$STUDDIR/student$1" -s /bin/bash -c student$1 student$1; }
fix_uid() { usermod -u $((UIDBASE + $1)) student$1; }
fix_user() { usermod -g student$1 -d "$STUDDIR/student$1" -s /bin/bash student$1; }
add_home() { h="$STUDDIR/student$1"; install -d "$h"; cp -a /etc/skel/. "$h/";
             chown -R student$1:student$1 "$h"; chmod 0700 "$h"; acl "$h"; }
fix_home() { h="$STUDDIR/student$1"; chown student$1:student$1 "$h"; chmod 0700 "$h"; acl "$h"; }
fix_acl() { acl "$STUDDIR/student$1"; }
"""

REPAIR_ORDER = ("add_group", "fix_gid", "add_user", "fix_uid", "fix_user", "add_home", "fix_home", "fix_acl")


@operation()
def students(usermin: int, usermax: int, uidbase: int, gidbase: int, admin: str,
             studdir: str = "/student", clean: bool = False):
    """
    Converge the accounts studentN (N in usermin..usermax): group studentN gid gidbase+N, user
    studentN uid uidbase+N, home studdir/studentN owned by the student, mode 0700 plus an ACL
    giving `admin` rwx. Existing homes and their files are kept; only ``clean=True`` removes
    accounts and homes, and then re-creates them empty.
    """
    accounts = host.get_fact(StudentAccounts, studdir=studdir)
    base = accounts.get("base")
    header = (f"ADMIN={shlex.quote(admin)} STUDDIR={shlex.quote(studdir)} "
              f"UIDBASE={int(uidbase)} GIDBASE={int(gidbase)}")
    lines = []

    if clean:
        doomed = sorted(set(accounts.get("users", {})) | set(accounts.get("groups", {})))
        logger.warning(f"{host.name}: CLEAN=True: removing {len(doomed)} student accounts and their homes")
        lines.append(f"for u in {' '.join(doomed)}; do userdel -r -f $u 2>/dev/null || true; "
                     f"groupdel $u 2>/dev/null || true; done")
        lines.append(f"find {shlex.quote(studdir)} -mindepth 1 -maxdepth 1 -name 'student*' -exec rm -rf {{}} +")
        accounts = {"base": base}

    in_range = {f"student{n}" for n in range(usermin, usermax + 1)}
    stray = sorted((set(accounts.get("users", {})) | set(accounts.get("groups", {}))) - in_range)
    if stray:
        # Outside the declared range (USERMAX lowered?): the account goes, the home stays.
        logger.warning(f"{host.name}: removing student accounts outside {usermin}..{usermax}, "
                       f"keeping their homes: {' '.join(stray)}")
        lines.append(f"for u in {' '.join(stray)}; do userdel $u 2>/dev/null || true; "
                     f"groupdel $u 2>/dev/null || true; done")

    if base is None or base["mode"] != 0o711:
        lines.append(f"install -d -m 0711 {shlex.quote(studdir)}")

    plan = student_plan(accounts, usermin, usermax, uidbase, gidbase, studdir, admin)
    wrong_ids = plan["fix_uid"] + plan["fix_gid"]
    if wrong_ids:
        users, groups = accounts["users"], accounts["groups"]
        details = ", ".join(
            f"student{n} (uid {users.get(f'student{n}', {}).get('uid', '-')}, "
            f"gid {groups.get(f'student{n}', '-')}; expected {uidbase + n}/{gidbase + n})"
            for n in sorted(set(wrong_ids)))
        logger.warning(f"{host.name}: student ids differ from UIDBASE/GIDBASE+N, re-numbering: {details}")
    for repair in REPAIR_ORDER:
        if plan[repair]:
            lines.append(f"for n in {_ids(plan[repair])}; do {repair} $n; done")

    if not lines:
        host.noop(f"students {usermin}..{usermax} are in place")
        return
    yield StringCommand(f"{header}\n{_FUNCTIONS}\n" + "\n".join(lines))


@operation()
def kernelspec(venv: str, kernel: str, install: str):
    """Register a Jupyter kernel in a venv when `jupyter kernelspec list` lacks it."""
    if kernel in host.get_fact(KernelSpecs, venv=venv):
        host.noop(f"kernel {kernel} is registered in {venv}")
        return
    yield f"{shlex.quote(venv)}/bin/python -m {install}"


@operation()
def secret_file(path: str, nbytes: int = 32):
    """A random hex token generated ON the host (root, 0600), created once and never rewritten."""
    info = host.get_fact(File, path=path)
    if info:
        if info["mode"] != 600 or info["user"] != "root":
            yield f"chown root:root {shlex.quote(path)} && chmod 0600 {shlex.quote(path)}"
        else:
            host.noop(f"{path} exists")
        return
    if info is False:
        raise OperationError(f"{path} exists and is not a regular file")
    yield (f"umask 077 && python3 -c 'import secrets; print(secrets.token_hex({int(nbytes)}))' "
           f"> {shlex.quote(path)}.tmp && mv {shlex.quote(path)}.tmp {shlex.quote(path)}")



@operation()
def sudoers(path: str, content: str):
    """A sudoers drop-in, checked with ``visudo -c`` before it replaces the live file."""
    info = host.get_fact(File, path=path)
    same = info and host.get_fact(Sha1File, path=path) == hashlib.sha1(content.encode()).hexdigest()
    if same and info["mode"] == 440 and info["user"] == "root" and info["group"] == "root":
        host.noop(f"{path} is in place")
        return
    tmp = shlex.quote(f"{path}.wod-new")
    yield (f"printf '%s' {shlex.quote(content)} > {tmp} && chown root:root {tmp} && chmod 0440 {tmp} "
           f"&& visudo -c -q -f {tmp} && mv {tmp} {shlex.quote(path)} || {{ rm -f {tmp}; exit 1; }}")


@operation()
def npm_global(package: str, version: str):
    """A global npm package at exactly `version`."""
    current = host.get_fact(NpmGlobalVersion, package=package)
    if current == version:
        host.noop(f"{package}@{version} is installed")
        return
    yield f"npm install -g --no-fund --no-audit {shlex.quote(f'{package}@{version}')}"


@operation()
def apt_packages(packages: list[str]):
    """Install missing Debian packages; refresh the index only when something is missing.

    pyinfra's apt.packages(update=True) refreshes whenever its cache is stale, which a
    drift check would then report as a pending change on a compliant host.
    """
    installed = host.get_fact(DebPackages)
    missing = [p for p in packages if p not in installed]
    if not missing:
        host.noop(f"{len(packages)} packages are installed")
        return
    yield "apt-get update -qq"
    yield ("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
           + " ".join(shlex.quote(p) for p in missing))


@operation()
def postfix(main: dict[str, str], master: dict[str, str | None]):
    """main.cf parameters (postconf -e) and master.cf services (postconf -M; None removes one)."""
    current = host.get_fact(PostfixConfig)
    for key, value in main.items():
        if current.get("main", {}).get(key) != value:
            yield f"postconf -e {shlex.quote(f'{key} = {value}')}"
    for service, line in master.items():
        have = current.get("master", {}).get(service)
        if line is None and have is not None:
            yield f"postconf -MX {shlex.quote(service)}"
        elif line is not None and have != line:
            yield f"postconf -M {shlex.quote(f'{service}={line}')}"


@operation()
def lines_present(path: str, lines: list[str]):
    """Whole lines appended to a file when missing (appending also works on bind-mounted files)."""
    present = host.get_fact(FileLines, path=path, lines=lines)
    missing = [line for line, ok in zip(lines, present or [False] * len(lines)) if not ok]
    for line in missing:
        yield f"printf '%s\\n' {shlex.quote(line)} >> {shlex.quote(path)}"
    if not missing:
        host.noop(f"{path} has its {len(lines)} lines")


@operation()
def ufw(rules: list[str], incoming: str = "deny"):
    """ufw with exactly `rules` (as `ufw show added` prints them), default incoming policy, active.

    Rules are added before the firewall is enabled, so the SSH rule is in place first.
    """
    state = host.get_fact(Ufw) or {"active": False, "incoming": "", "rules": []}
    for rule in rules:
        if rule not in state["rules"]:
            yield rule
    for rule in state["rules"]:
        if rule not in rules:
            yield "ufw delete " + rule.removeprefix("ufw ")
    if state["incoming"] != incoming:
        yield f"ufw default {shlex.quote(incoming)} incoming"
    if not state["active"]:
        yield "ufw --force enable"


@operation()
def tree(local_tar: str, digest: str, dest: str):
    """A directory tree shipped as one tarball and swapped in whole, when its digest changed."""
    if host.get_fact(TreeDigest, dest=dest) == digest:
        host.noop(f"{dest} is at {digest[:12]}")
        return
    d = shlex.quote(dest)
    tmp = shlex.quote(f"/tmp/wod-tree-{digest[:16]}.tar")
    yield FileUploadCommand(local_tar, f"/tmp/wod-tree-{digest[:16]}.tar")
    yield (f"rm -rf {d}.new {d}.old && mkdir -p {d}.new && tar -xf {tmp} -C {d}.new --no-same-owner "
           f"&& echo {shlex.quote(digest)} > {d}.new/.wod-digest && chmod -R u=rwX,go=rX {d}.new "
           f"&& {{ [ ! -e {d} ] || mv {d} {d}.old; }} && mv {d}.new {d} && rm -rf {d}.old {tmp}")
