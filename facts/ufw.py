"""The ufw firewall."""

from __future__ import annotations

from pyinfra.api import FactBase


class Ufw(FactBase):
    """``{"active": bool, "incoming": "deny", "rules": ["ufw allow 22/tcp", ...]}``, None without ufw.

    Read where ufw itself keeps them, with one ufw run (a Python start) instead of two: active is
    ENABLED=yes in ufw.conf with ufw's chain loaded in the running kernel; the incoming policy is
    DEFAULT_INPUT_POLICY (DROP is ufw's "deny"); the rules are `ufw show added`.
    """

    POLICIES = {"DROP": "deny", "ACCEPT": "allow", "REJECT": "reject"}

    def command(self) -> str:
        return ("command -v ufw >/dev/null || exit 0; "
                "if grep -qx ENABLED=yes /etc/ufw/ufw.conf && iptables -w -S ufw-user-input >/dev/null 2>&1; "
                "then echo 'S active'; else echo 'S inactive'; fi; "
                "sed -n 's/^DEFAULT_INPUT_POLICY=\"*\\([A-Z]*\\)\"*$/D \\1/p' /etc/default/ufw; "
                "ufw show added | sed -n 's/^ufw /R ufw /p'")

    def process(self, output: list[str]) -> dict:
        state = {"active": False, "incoming": "", "rules": []}
        for line in output:
            kind, _, rest = line.partition(" ")
            if kind == "S":
                state["active"] = rest.strip() == "active"
            elif kind == "D":
                state["incoming"] = self.POLICIES.get(rest.strip(), rest.strip().lower())
            elif kind == "R":
                state["rules"].append(rest.strip())
        return state
