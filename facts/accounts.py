"""One local account by name."""

from __future__ import annotations

from pyinfra.api import FactBase

from wod_deploy.shell import sh


class LoginUser(FactBase):
    """The account pyinfra logs in as over SSH, read under sudo as well (sudo names it)."""

    def command(self) -> str:
        return 'echo "${SUDO_USER:-$(id -un)}"'

    def process(self, output: list[str]) -> str | None:
        return (output[0].strip() if output else "") or None


class Account(FactBase):
    """``{"uid", "gid", "home", "shell", "home_owner"}`` of a user from ``getent passwd`` (the
    owner of its home directory, None when that is not a directory), or None."""

    def command(self, user: str) -> str:
        return sh("entry=$(getent passwd %s) && echo \"$entry\" && "
                  "{ home=${entry#*:*:*:*:*:}; home=${home%%%%:*}; [ -d \"$home\" ] && stat -c %%U \"$home\"; }; true",
                  user)  # the home, field 6, by the shell's own expansion (no cut: a process less)

    def process(self, output: list[str]) -> dict | None:
        fields = output[0].split(":") if output else []
        if len(fields) < 7:
            return None
        return {"uid": int(fields[2]), "gid": int(fields[3]), "home": fields[5], "shell": fields[6],
                "home_owner": output[1] if len(output) > 1 else None}
