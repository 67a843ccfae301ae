"""A report: the checks of every selected host, and the status and exit code they add up to."""

from __future__ import annotations

from dataclasses import dataclass

from ..checks import DRIFT, ERROR, PASS, Check

EXIT = {PASS: 0, DRIFT: 2, ERROR: 1}
ORDER = {ERROR: 0, DRIFT: 1, PASS: 2}


@dataclass
class Report:
    checks: list[Check]
    inventory: str = ""
    seconds: float = 0.0
    unchecked: tuple[str, ...] = ()  # hosts whose role has no checks yet
    hosts: tuple[str, ...] = ()  # every host selected

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.checks)

    @property
    def status(self) -> str:
        if self.count(ERROR):
            return ERROR
        return DRIFT if self.count(DRIFT) else PASS

    @property
    def exit_code(self) -> int:
        return EXIT[self.status]

    def sorted(self) -> list[Check]:
        """Failures first."""
        return sorted(self.checks, key=lambda c: (ORDER[c.status], c.host, c.id, c.resource))
