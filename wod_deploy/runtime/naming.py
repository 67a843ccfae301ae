"""Who a student is and what the admin may do in their home: one definition for the deploy, the
checks and the mail-API handler on the backend (which imports it from /usr/local/lib/wod).

Stdlib only, no wod-deploy imports: it runs on the backend beside mailapi.py.
"""

from __future__ import annotations

import re

STUDENT_RE = re.compile(r"^student([0-9]+)$")
SHELL = "/bin/bash"
# The home is chmod 0700; the admin's ACL then raises the mask (the group class) to rwx, so
# stat shows 0770.
HOME_CHMOD = 0o700
HOME_MODE = 0o770
# STUDDIR itself: students may pass through to their own home, not list the others.
STUDDIR_MODE = 0o711


def student_name(n: int) -> str:
    return f"student{n}"


def student_number(name: str) -> int | None:
    """N of `studentN`, None for any other name."""
    match = STUDENT_RE.match(name)
    return int(match.group(1)) if match else None


def student_home(studdir: str, n: int) -> str:
    return f"{studdir.rstrip('/')}/{student_name(n)}"


def admin_acl(admin: str) -> set[str]:
    """The getfacl entries that give the admin rwx on a home, now and for what is created in it."""
    return {f"user:{admin}:rwx", f"default:user:{admin}:rwx"}


def admin_acl_argv(admin: str, path: str) -> list[list[str]]:
    """The commands (argv lists) that grant admin_acl() on a home, recursively."""
    return [["setfacl", "-R", "-m", f"u:{admin}:rwX", path],
            ["find", path, "-type", "d", "-exec", "setfacl", "-m", f"d:u:{admin}:rwx", "{}", "+"]]
