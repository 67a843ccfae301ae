"""systemd units: active and enabled state, in one command."""

from __future__ import annotations

from pyinfra.api import FactBase

from wod_deploy.shell import sh


class ServiceStates(FactBase):
    """``{unit: {"active": "active", "enabled": "enabled"}}`` (systemctl's own words)."""

    default = dict

    def command(self, units: list[str]) -> str:
        return sh("for u in %s; do echo \"S $u $(systemctl is-active \"$u\" 2>/dev/null || true) "
                  "$(systemctl is-enabled \"$u\" 2>/dev/null || true)\"; done", units)

    def process(self, output: list[str]) -> dict:
        states = {}
        for line in output:
            _, unit, active, enabled = (line.split() + ["", "", "", ""])[:4]
            states[unit] = {"active": active or "unknown", "enabled": enabled or "not-found"}
        return states
