"""pyinfra's global arguments (`_sudo`, `_if`, ...), with their types read once.

For every operation on every host, pyinfra 3.10 gathers its global arguments, and lists them
with `typing.get_type_hints` of the same static TypedDict each time: measured with cProfile on a
no-change converge of six backends, 813 calls, 0.36 s of the controller's single core, which six
backends converging in parallel wait for. The list never changes during a run; it is read once.
tests/unit/test_arguments.py checks it is pyinfra's own.
"""

from __future__ import annotations

import functools

from pyinfra.api import arguments

pyinfra_all_global_arguments = arguments.all_global_arguments


@functools.cache
def _typed() -> tuple[tuple[str, type], ...]:
    return tuple(pyinfra_all_global_arguments())


def all_global_arguments() -> list[tuple[str, type]]:
    return list(_typed())


def install() -> None:
    """pop_global_arguments, pyinfra's one caller per operation, looks the name up at each call."""
    arguments.all_global_arguments = all_global_arguments
