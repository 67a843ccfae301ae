"""systemd units: active and enabled state, in one command."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


class ServiceStates(FactBase):
    """``{unit: {"active": "active", "enabled": "enabled"}}`` (systemctl's own words)."""

    default = dict

    def command(self, units: list[str]) -> str:
        quoted = " ".join(shlex.quote(u) for u in units)
        return (f"for u in {quoted}; do echo \"$u $(systemctl is-active \"$u\" 2>/dev/null || true) "
                f"$(systemctl is-enabled \"$u\" 2>/dev/null || true)\"; done")

    def process(self, output: list[str]) -> dict:
        states = {}
        for line in output:
            unit, active, enabled = (line.split() + ["", "", ""])[:3]
            states[unit] = {"active": active or "unknown", "enabled": enabled or "not-found"}
        return states
