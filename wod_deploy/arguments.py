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

Even so, resolving the 32 for each operation took 0.11 ms, 10.5 ms of the 27 ms a backend's
deploy takes to prepare (timed around pyinfra's function on six backends), on the controller's
one core that six backends wait for. An operation passes a few (its `name`); the others are the
same for every operation of the same @deploy on the same host. `pop_global_arguments` resolves
those once per host and @deploy with pyinfra's own function, and the ones passed as pyinfra does.
"""

from __future__ import annotations

import functools
import importlib
import weakref
from copy import copy

from pyinfra.api import arguments
from pyinfra.api.exceptions import ArgumentTypeError
from pyinfra.api.util import raise_if_bad_type
from pyinfra.context import ctx_config, ctx_state

pyinfra_all_global_arguments = arguments.all_global_arguments
pyinfra_pop_global_arguments = arguments.pop_global_arguments
# the module (pyinfra.api's `operation` is the decorator of the same name)
pyinfra_operation = importlib.import_module("pyinfra.api.operation")


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
    for key, _ in _typed():
        setattr(host.data, key, _default(host, key, host.state.config))


def _default(host, key: str, config):
    """What pyinfra's pop_global_arguments takes as `key`'s default: host data, else the config's."""
    value = host.data.get(key, _UNSET)
    return arguments.all_argument_meta[key].default(config) if value is _UNSET else value


_UNSET = object()

# per run: {host name: ((@deploy keywords, config), {argument: (value, default)})}
_resolved: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def pop_global_arguments(state, host, kwargs: dict) -> tuple[dict, list[str]]:
    """pyinfra's pop_global_arguments, each argument not in `kwargs` resolved once per host and
    @deploy (and config: pyinfra prepares each host's deploy with its own copy)."""
    if not ctx_state.isset():
        return pyinfra_pop_global_arguments(state, host, kwargs)
    config = ctx_config.get() or state.config
    context = (host.current_deploy_kwargs, config)
    run = _resolved.setdefault(ctx_state.get(), {})
    known = run.get(host.name)
    if known is None or any(a is not b for a, b in zip(known[0], context)):
        known = run[host.name] = context, _resolve(state, host, config)
    values, found = {}, []
    for key, type_ in _typed():
        value, default = known[1][key]
        if key in kwargs:  # as pyinfra takes an operation's own argument
            found.append(key)
            value = kwargs.pop(key)
            handler = arguments.all_argument_meta[key].handler
            if handler:
                value = handler(config, value)
            if value != default:
                raise_if_bad_type(value, type_, ArgumentTypeError, f"Invalid argument `{key}`:")
        values[key] = copy(value)
    return values, found


def _resolve(state, host, config) -> dict[str, tuple]:
    """{argument: (its value for an operation that does not pass it, pyinfra's default)}."""
    values, _ = pyinfra_pop_global_arguments(state, host, {})
    return {key: (value, _default(host, key, config)) for key, value in values.items()}


def install() -> None:
    """Where pyinfra looks them up: pop_global_arguments for the list, and the operation module for
    pop_global_arguments (deploys and facts keep pyinfra's: a few calls per host)."""
    arguments.all_global_arguments = all_global_arguments
    pyinfra_operation.pop_global_arguments = pop_global_arguments
