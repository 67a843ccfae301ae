"""Student accounts studentN: one fact read and at most one script for all of them."""

import re

from pyinfra.api import deploy

from facts.students import StudentAccounts

from . import operations
from .compliance import expect, mode
from .settings import Settings


@deploy("Students")
def students(settings: Settings):
    operations.students(
        name=f"Students {settings.USERMIN}..{settings.USERMAX} (accounts, homes, ACLs)",
        usermin=settings.USERMIN,
        usermax=settings.USERMAX,
        uidbase=settings.UIDBASE,
        gidbase=settings.GIDBASE,
        admin=settings.WODUSER,
        studdir=settings.STUDDIR,
        clean=settings.CLEAN,
    )


def _describe(user, gid, home, admin) -> str:
    """One line per student, the same shape for expected and actual."""
    if user is None:
        return "absent"
    acl = "yes" if home and operations.admin_acl(admin) <= set(home["acl"]) else "no"
    home_state = f"{home['uid']}:{home['gid']} {mode(home['mode'])} admin-acl {acl}" if home else "missing"
    return f"uid {user['uid']} gid {user['gid']} group-gid {gid} home {user['home']} {user['shell']} [{home_state}]"


def checks(settings: Settings, probe):
    s = settings
    accounts = probe(StudentAccounts, studdir=s.STUDDIR)
    users, groups, homes = accounts["users"], accounts["groups"], accounts["homes"]
    base = accounts["base"]
    yield expect("students.base", s.STUDDIR, "0711", base and mode(base["mode"]))
    for st in s.students:
        expected = _describe({"uid": st.uid, "gid": st.gid, "home": st.home, "shell": "/bin/bash"}, st.gid,
                             {"uid": st.uid, "gid": st.gid, "mode": operations.HOME_MODE,
                              "acl": operations.admin_acl(s.WODUSER)}, s.WODUSER)
        user = users.get(st.name)
        actual = _describe(user, groups.get(st.name), homes.get(user["home"]) if user else None, s.WODUSER)
        yield expect("students.account", st.name, expected, actual)
    stray = sorted((n for n in set(users) | set(groups)
                    if int(re.sub(r"\D", "", n)) not in s.student_ids), key=lambda n: int(n[7:]))
    yield expect("students.stray", f"student accounts outside {s.USERMIN}..{s.USERMAX}", "none",
                 " ".join(stray) or "none", "converge removes stray accounts (their homes are kept)")
