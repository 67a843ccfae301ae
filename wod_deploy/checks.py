"""What a check is: the one primitive every component's checks use, and nothing else.

A check compares what the settings declare with what a fact reads back. Components import
this module; the compliance package (runner, reporters) reads the checks they yield.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PASS, DRIFT, ERROR = "pass", "drift", "error"
CONVERGE = "converge: pyinfra INVENTORY deploys/<role>.py"  # the usual fix


@dataclass(frozen=True)
class Check:
    id: str
    resource: str
    expected: str
    actual: str
    status: str
    hint: str = ""
    host: str = ""


def expect(id: str, resource: str, expected: Any, actual: Any, hint: str = CONVERGE) -> Check:
    """A check that passes when actual equals expected (both shown as text)."""
    status = PASS if actual == expected else DRIFT
    return Check(id, resource, _text(expected), _text(actual), status, hint)


def _text(value: Any) -> str:
    if value is None:
        return "absent"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def mode(value: int | None) -> str | None:
    """An octal mode as people read it: 0o644 -> '0644'."""
    return None if value is None else f"{value:04o}"
