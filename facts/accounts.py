"""One local account by name."""

from __future__ import annotations

from pyinfra.api import FactBase

from wod_deploy.shell import sh


class Account(FactBase):
    """``{"uid", "gid", "home", "shell"}`` of a user from ``getent passwd``, or None."""

    def command(self, user: str) -> str:
        return sh("getent passwd %s || true", user)

    def process(self, output: list[str]) -> dict | None:
        fields = output[0].split(":")
        if len(fields) < 7:
            return None
        return {"uid": int(fields[2]), "gid": int(fields[3]), "home": fields[5], "shell": fields[6]}
