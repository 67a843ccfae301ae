"""Student accounts: one fact read and at most one script, however many students there are."""

from __future__ import annotations

from pyinfra import host, logger
from pyinfra.api import StringCommand, operation

from facts.files import WritablePaths
from facts.students import StudentAccounts

from .. import reads
from ..runtime import naming
from ..shell import argv, sh


def _ids(ns) -> str:
    return " ".join(str(n) for n in sorted(ns))


REPAIR_ORDER = ("add_group", "fix_gid", "add_user", "fix_uid", "fix_user", "add_home", "fix_home", "fix_acl")


def student_plan(accounts: dict, usermin: int, usermax: int, uidbase: int, gidbase: int,
                 studdir: str, admin: str) -> dict[str, list[int]]:
    """Which student numbers need which repair, from one StudentAccounts fact. Pure."""
    users, groups, homes = accounts.get("users", {}), accounts.get("groups", {}), accounts.get("homes", {})
    want_acl = naming.admin_acl(admin)
    plan: dict[str, list[int]] = {k: [] for k in REPAIR_ORDER}
    for n in range(usermin, usermax + 1):
        name, uid, gid = naming.student_name(n), uidbase + n, gidbase + n
        home = naming.student_home(studdir, n)
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
            if user["gid"] != gid or user["home"] != home or user["shell"] != naming.SHELL:
                plan["fix_user"].append(n)
        state = homes.get(home)
        if state is None:
            plan["add_home"].append(n)
            continue
        if (state["uid"], state["gid"]) != (uid, gid) or state["mode"] != naming.HOME_MODE:
            plan["fix_home"].append(n)
        if not want_acl <= set(state["acl"]):
            plan["fix_acl"].append(n)
    return plan


def _functions(admin: str) -> str:
    """One shell function per repair; the script calls it for a list of numbers, so its size grows
    by a few bytes per student (the kernel caps one argument at 128 KiB). $1 is the number."""
    acl = "; ".join(argv(a, PATH='"$1"') for a in naming.admin_acl_argv(admin, "PATH"))
    name = naming.student_name("$1")  # the same rule, spelled for the shell
    home = f'"$STUDDIR/{name}"'
    chmod = f"{naming.HOME_CHMOD:04o}"
    return "\n".join([
        "set -e",
        f"acl() {{ {acl}; }}",
        f"add_group() {{ groupadd -g $((GIDBASE + $1)) {name}; }}",
        f"fix_gid() {{ groupmod -g $((GIDBASE + $1)) {name}; }}",
        f"add_user() {{ useradd -M -u $((UIDBASE + $1)) -g {name} -d {home} -s {naming.SHELL} -c {name} {name}; }}",
        f"fix_uid() {{ usermod -u $((UIDBASE + $1)) {name}; }}",
        f"fix_user() {{ usermod -g {name} -d {home} -s {naming.SHELL} {name}; }}",
        f"add_home() {{ h={home}; install -d -m {chmod} -o {name} -g {name} \"$h\"; cp -a /etc/skel/. \"$h/\"; "
        f"chown -R {name}:{name} \"$h\"; chmod {chmod} \"$h\"; acl \"$h\"; }}",
        f"fix_home() {{ h={home}; chown {name}:{name} \"$h\"; chmod {chmod} \"$h\"; acl \"$h\"; }}",
        f"fix_acl() {{ acl {home}; }}",
    ])


@operation()
def students(usermin: int, usermax: int, uidbase: int, gidbase: int, admin: str,
             studdir: str = "/student", clean: bool = False):
    """
    Converge the accounts studentN (N in usermin..usermax): group studentN gid gidbase+N, user
    studentN uid uidbase+N, home studdir/studentN owned by the student, mode 0700 plus an ACL
    giving `admin` rwx. Existing homes and their files are kept; only ``clean=True`` removes
    accounts and homes, and then re-creates them empty.
    """
    accounts = reads.fact(StudentAccounts, studdir=studdir)
    base = accounts.get("base")
    header = sh("STUDDIR=%s UIDBASE=%s GIDBASE=%s", studdir, int(uidbase), int(gidbase))
    lines = []

    if clean:
        doomed = sorted(set(accounts.get("users", {})) | set(accounts.get("groups", {})))
        logger.warning(f"{host.name}: CLEAN=True: removing {len(doomed)} student accounts and their homes")
        lines.append(sh("for u in %s; do userdel -r -f \"$u\" 2>/dev/null || true; "
                        "groupdel \"$u\" 2>/dev/null || true; done", doomed))
        lines.append(sh("find %s -mindepth 1 -maxdepth 1 -name 'student*' -exec rm -rf {} +", studdir))
        accounts = {"base": base}

    in_range = {naming.student_name(n) for n in range(usermin, usermax + 1)}
    stray = sorted((set(accounts.get("users", {})) | set(accounts.get("groups", {}))) - in_range)
    if stray:
        # Outside the declared range (USERMAX lowered?): the account goes, the home stays.
        logger.warning(f"{host.name}: removing student accounts outside {usermin}..{usermax}, "
                       f"keeping their homes: {' '.join(stray)}")
        lines.append(sh("for u in %s; do userdel \"$u\" 2>/dev/null || true; "
                        "groupdel \"$u\" 2>/dev/null || true; done", stray))

    if base is None or base["mode"] != naming.STUDDIR_MODE:
        lines.append(sh("install -d -m %s %s", f"{naming.STUDDIR_MODE:04o}", studdir))

    plan = student_plan(accounts, usermin, usermax, uidbase, gidbase, studdir, admin)
    wrong_ids = plan["fix_uid"] + plan["fix_gid"]
    if wrong_ids:
        users, groups = accounts["users"], accounts["groups"]
        details = ", ".join(
            f"{naming.student_name(n)} (uid {users.get(naming.student_name(n), {}).get('uid', '-')}, "
            f"gid {groups.get(naming.student_name(n), '-')}; expected {uidbase + n}/{gidbase + n})"
            for n in sorted(set(wrong_ids)))
        logger.warning(f"{host.name}: student ids differ from UIDBASE/GIDBASE+N, re-numbering: {details}")
    for repair in REPAIR_ORDER:
        if plan[repair]:
            lines.append(f"for n in {_ids(plan[repair])}; do {repair} $n; done")

    if not lines:
        host.noop(f"students {usermin}..{usermax} are in place")
        return
    yield StringCommand(f"{header}\n{_functions(admin)}\n" + "\n".join(lines))


@operation()
def nothing_writable(user: str, paths: list[str]):
    """Nothing under `paths` that `user` (a student) can write, as the kernel decides for them
    (WritablePaths): the write bit for others removed, and what a student's uid or gid owns given
    back to root. Write granted by an ACL entry is left, for a person to judge (its author meant
    it): the check still names it."""
    writable = reads.fact(WritablePaths, user=user, paths=paths)
    if not writable:
        host.noop(f"nothing under {' '.join(paths)} is writable by {user}")
        return
    # a link is listed for what it points to: never followed (a link to /tmp must not change /tmp)
    yield sh("for p in %s; do [ ! -L \"$p\" ] || continue; chmod o-w -- \"$p\"; "
             "case \"$(stat -c '%%U %%G' -- \"$p\")\" in student[0-9]*) chown -h root:root -- \"$p\";; "
             "*' 'student[0-9]*) chgrp -h root -- \"$p\";; esac; done", writable)
