"""Student accounts, groups, homes and ACLs, read in one command whatever the number of students."""

from __future__ import annotations

import re

from pyinfra.api import FactBase

from wod_deploy.runtime.naming import STUDENT_RE
from wod_deploy.shell import sh

# awk reads the same regular expression as Python
_AWK_NAME = STUDENT_RE.pattern


class StudentAccounts(FactBase):
    """
    Every `studentN` account, group and home under `studdir`, with the home's mode, owner and ACL.

    .. code:: python

        {
            "users": {"student1": {"uid": 2001, "gid": 2001, "home": "/student/student1", "shell": "/bin/bash"}},
            "groups": {"student1": 2001},
            "base": {"mode": 0o711, "uid": 1001, "gid": 1001},          # studdir itself, None if absent
            "homes": {"/student/student1": {"mode": 0o770, "uid": 2001, "gid": 2001,
                                            "acl": ["user::rwx", "user:wodadmin:rwx", ...]}},
        }
    """

    default = dict

    def requires_command(self, studdir: str = "/student") -> str:
        return "getent"

    def command(self, studdir: str = "/student") -> str:
        # one awk for both databases (a passwd entry has 7 fields, a group 4); one find lists the
        # homes and hands them to getfacl (whose output may come before find's own lines)
        homes = "find \"$d\" -mindepth 1 -maxdepth 1 -type d -name 'student*' -printf 'H %%p %%m %%U %%G\\n'"
        return sh(
            "{ getent passwd; getent group; } | awk -F: -v re=%s "
            "'$1 ~ re { if (NF >= 7) print \"U\", $1, $3, $4, $6, $7; else print \"G\", $1, $3 }'; "
            "d=%s; if [ -d \"$d\" ]; then "
            "stat -c 'B %%a %%u %%g' \"$d\"; "
            f"if command -v getfacl >/dev/null; then {homes} -exec getfacl -p {{}} + 2>/dev/null "
            "| sed -n '/^H /p; s/^# file: /F /p; /^[a-z]/s/^/A /p'; "
            f"else {homes}; fi; "
            "fi",
            _AWK_NAME, studdir.rstrip("/"))

    def process(self, output: list[str]) -> dict:
        users, groups, homes, base, acls = {}, {}, {}, None, {}
        current = None
        for line in output:
            kind, _, rest = line.partition(" ")
            parts = rest.split()
            if kind == "U" and len(parts) >= 4:
                name, uid, gid, home = parts[:4]
                users[name] = {"uid": int(uid), "gid": int(gid), "home": home,
                               "shell": parts[4] if len(parts) > 4 else ""}
            elif kind == "G" and len(parts) == 2:
                groups[parts[0]] = int(parts[1])
            elif kind == "B" and len(parts) == 3:
                base = {"mode": int(parts[0], 8), "uid": int(parts[1]), "gid": int(parts[2])}
            elif kind == "H" and len(parts) == 4:
                homes[parts[0]] = {"mode": int(parts[1], 8), "uid": int(parts[2]), "gid": int(parts[3]),
                                   "acl": []}
            elif kind == "F":
                current = rest.strip()
            elif kind == "A" and current:
                # "user:wodadmin:rwx\t#effective:r-x" -> keep the entry, drop the comment
                acls.setdefault(current, []).append(re.split(r"\s+#", rest.strip())[0])
        for path, home in homes.items():
            home["acl"] = acls.get(path, [])
        return {"users": users, "groups": groups, "base": base, "homes": homes}
