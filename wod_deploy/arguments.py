"""pyinfra's global arguments (`_sudo`, `_if`, ...), with their types read once, and each host's
values of them resolved once.

For every operation on every host, pyinfra 3.10 gathers its global arguments, and lists them
with `typing.get_type_hints` of the same static TypedDict each time: measured with cProfile on a
no-change converge of six backends, 813 calls, 0.36 s of the controller's single core, which six
backends converging in parallel wait for. The list never changes during a run; it is read once.
tests/unit/test_arguments.py checks it is pyinfra's own.

It then looks each of the 32 arguments up in host.data, for every operation: a key that no data
sets (most of them) walks the host's data, every group's (rebuilt at each lookup) and the
global data before it fails. cProfile of the same six backends put 45% of their preparation
there. `pin` resolves them once per host.
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


def pin(host) -> None:
    """Keep in host.data's override layer (the first it looks in) each global argument's value:
    the one host.data gives, or pyinfra's default for this run's config where no data sets it,
    which is the default pop_global_arguments then takes. Same values, found at the first dict
    (a @deploy's data defaults, which come after all host data, would be hidden: none here has any)."""
    config = host.state.config
    for key, _ in _typed():
        value = host.data.get(key, _UNSET)
        setattr(host.data, key, arguments.all_argument_meta[key].default(config) if value is _UNSET else value)


_UNSET = object()


def install() -> None:
    """pop_global_arguments, pyinfra's one caller per operation, looks the name up at each call."""
    arguments.all_global_arguments = all_global_arguments
