"""Everything a component manages (files, directories, services) read in one command."""

from __future__ import annotations

from pyinfra.api import FactBase

from .files import ManagedPaths
from .services import ServiceStates


class ManagedState(FactBase):
    """``{"paths": ManagedPaths, "units": ServiceStates}`` of one component, one round trip.

    Several components' reads merge into one (`merge`, then each its `part`): a read ahead makes
    one `stat`, one `sha1sum` and one `systemctl show` for the whole host, not one per component
    (each `systemctl show` costs the host about 6 ms of CPU, whatever it shows)."""

    default = dict

    def command(self, paths: list[str], units: list[str]) -> str:
        return "; ".join([ManagedPaths().command(paths=paths) if paths else "true",
                          ServiceStates().command(units=units) if units else "true"])

    def process(self, output: list[str]) -> dict:
        units = [x for x in output if x.startswith(("U ", "Id=", "ActiveState=", "UnitFileState="))]
        return {"paths": ManagedPaths().process([x for x in output if x not in units]),
                "units": ServiceStates().process(units)}

    @staticmethod
    def merge(reads: list[dict]) -> dict:
        """The kwargs of one read that reads all of `reads`' paths and units, each once."""
        return {kind: list(dict.fromkeys(name for kwargs in reads for name in kwargs[kind]))
                for kind in ("paths", "units")}

    @staticmethod
    def part(value: dict, paths: list[str], units: list[str]) -> dict:
        """What the read of `paths` and `units` alone gives, out of a merged read's `value`."""
        return {kind: {name: value[kind][name] for name in names if name in value[kind]}
                for kind, names in (("paths", paths), ("units", units))}
