"""Student accounts studentN: one fact read and at most one script for all of them; and TLJH's
invariant, read as a real student: nothing WoD runs as root is writable by a participant."""

from pyinfra.api import deploy as pyinfra_deploy

from facts.files import WritablePaths
from facts.students import StudentAccounts

from .. import reads
from ..checks import expect, mode
from ..operations import students as ops
from ..runtime import naming
from ..settings import Settings


def protected(s: Settings) -> list[str]:
    """Trees a student must not be able to write anywhere in: the hub, WoD's code, config, data,
    and where pyinfra stages uploads."""
    return [s.JPHUB, s.lib_dir, s.etc_dir, s.data_dir, s.staging_dir]


@pyinfra_deploy("Students")
def deploy(settings: Settings):
    s = settings
    first = s.student(s.USERMIN).name
    reads.together(reads.read(StudentAccounts, studdir=s.STUDDIR))
    reads.together(reads.read(WritablePaths, user=first, paths=protected(s)))
    ops.students(name=f"Students {s.USERMIN}..{s.USERMAX} (accounts, homes, ACLs)", usermin=s.USERMIN,
                 usermax=s.USERMAX, uidbase=s.UIDBASE, gidbase=s.GIDBASE, admin=s.WODUSER, studdir=s.STUDDIR,
                 clean=s.CLEAN)
    ops.nothing_writable(name=f"Nothing WoD runs as root writable by {first}", user=first, paths=protected(s))


def _describe(user, gid, home, admin) -> str:
    """One line per student, the same shape for expected and actual."""
    if user is None:
        return "absent"
    acl = "yes" if home and naming.admin_acl(admin) <= set(home["acl"]) else "no"
    home_state = f"{home['uid']}:{home['gid']} {mode(home['mode'])} admin-acl {acl}" if home else "missing"
    return f"uid {user['uid']} gid {user['gid']} group-gid {gid} home {user['home']} {user['shell']} [{home_state}]"


def checks(settings: Settings, probe):
    s = settings
    accounts = probe(StudentAccounts, studdir=s.STUDDIR)
    users, groups, homes = accounts["users"], accounts["groups"], accounts["homes"]
    base = accounts["base"]
    yield expect("students.base", s.STUDDIR, mode(naming.STUDDIR_MODE), base and mode(base["mode"]))
    for st in s.students:
        expected = _describe({"uid": st.uid, "gid": st.gid, "home": st.home, "shell": naming.SHELL}, st.gid,
                             {"uid": st.uid, "gid": st.gid, "mode": naming.HOME_MODE,
                              "acl": naming.admin_acl(s.WODUSER)}, s.WODUSER)
        user = users.get(st.name)
        actual = _describe(user, groups.get(st.name), homes.get(user["home"]) if user else None, s.WODUSER)
        yield expect("students.account", st.name, expected, actual)
    stray = sorted((n for n in set(users) | set(groups) if naming.student_number(n) not in s.student_ids),
                   key=naming.student_number)
    yield expect("students.stray", f"student accounts outside {s.USERMIN}..{s.USERMAX}", "none",
                 " ".join(stray) or "none", "converge removes stray accounts (their homes are kept)")
    first = s.student(s.USERMIN)
    writable = probe(WritablePaths, user=first.name, paths=protected(s))
    yield expect("students.nothing_writable", f"{' '.join(protected(s))} as {first.name}", "nothing writable",
                 "nothing writable" if not writable else f"{len(writable)} writable: " + " ".join(writable[:5]),
                 "converge removes others' write bit and takes back what a student owns; write given by an "
                 "ACL entry is left to you (setfacl -x), as its author meant it")
