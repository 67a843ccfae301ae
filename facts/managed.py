"""Everything a component manages (files, directories, services) read in one command."""

from __future__ import annotations

from pyinfra.api import FactBase

from .files import ManagedPaths
from .services import ServiceStates


class ManagedState(FactBase):
    """``{"paths": ManagedPaths, "units": ServiceStates}`` of one component, one round trip."""

    default = dict

    def command(self, paths: list[str], units: list[str]) -> str:
        return "; ".join([ManagedPaths().command(paths=paths) if paths else "true",
                          ServiceStates().command(units=units) if units else "true"])

    def process(self, output: list[str]) -> dict:
        units = [x for x in output if x.startswith(("U ", "Id=", "ActiveState=", "UnitFileState="))]
        return {"paths": ManagedPaths().process([x for x in output if x not in units]),
                "units": ServiceStates().process(units)}
