"""The ufw firewall."""

from __future__ import annotations

from pyinfra.api import FactBase


class Ufw(FactBase):
    """``{"active": bool, "incoming": "deny", "rules": ["ufw allow 22/tcp", ...]}``, None without ufw."""

    def command(self) -> str:
        return ("command -v ufw >/dev/null || exit 0; ufw status verbose | sed -n 's/^Status: /S /p; "
                "s/^Default: \\([a-z]*\\) (incoming).*/D \\1/p'; ufw show added | sed -n 's/^ufw /R ufw /p'")

    def process(self, output: list[str]) -> dict:
        state = {"active": False, "incoming": "", "rules": []}
        for line in output:
            kind, _, rest = line.partition(" ")
            if kind == "S":
                state["active"] = rest.strip() == "active"
            elif kind == "D":
                state["incoming"] = rest.strip()
            elif kind == "R":
                state["rules"].append(rest.strip())
        return state
