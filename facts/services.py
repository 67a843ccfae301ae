"""systemd units: active and enabled state, in one command."""

from __future__ import annotations

from pyinfra.api import FactBase

from wod_deploy.shell import sh


class ServiceStates(FactBase):
    """``{unit: {"active": "active", "enabled": "enabled"}}`` (systemd's own words: ActiveState,
    UnitFileState, "not-found" when there is no unit file). One `systemctl show` for all the
    units: its blocks come in the order of the names, which the first line repeats."""

    default = dict

    def command(self, units: list[str]) -> str:
        return sh("echo U %s; systemctl show -p Id,ActiveState,UnitFileState -- %s 2>/dev/null; true", units, units)

    def process(self, output: list[str]) -> dict:
        names, blocks = [], []
        for line in output:
            if line.startswith("U "):
                names = line.split()[1:]
            elif line.startswith("Id="):
                blocks.append({})
            elif blocks and "=" in line:
                key, _, value = line.partition("=")
                blocks[-1][key] = value
        return {unit: {"active": block.get("ActiveState") or "unknown",
                       "enabled": block.get("UnitFileState") or "not-found"}
                for unit, block in zip(names, blocks)}
