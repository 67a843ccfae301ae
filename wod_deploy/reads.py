"""A component's reads, made in one round trip.

A no-change converge is its reads: each is an SSH channel, a sudo and a shell on the host (about
8 ms of the host's CPU here), however little it reads. A component declares, when its deploy
runs, the facts its operations will read (`together`); the first of them an operation asks for
(`fact`) reads them all in one command (facts/batch.Batch), and the others are then answered from
that read. A fact no component declared is read on its own, as host.get_fact would.

Every value is read once per run (pyinfra's State) and host, and once more when execution starts
(pyinfra may run operations' code before it, to show changes). A value may thus be older than an
operation of the same component that ran in between, so a component declares together only reads
whose operations act safely on an older value: they repair idempotently (an item shown out of
place runs its own operation, which reads again what it needs; a line is appended only if still
missing), and none of them undoes what an earlier one of the group made.
"""

from __future__ import annotations

import json

from pyinfra import host
from pyinfra.api import FactBase

from facts.batch import Batch, fact_name

Key = tuple[type[FactBase], str]  # a fact class and its kwargs, as JSON

_groups: dict[tuple, tuple[Key, ...]] = {}  # (run, host, key): its group
_values: dict[tuple, object] = {}  # (run, host, executing?, key): its value


def read(cls: type[FactBase], **kwargs) -> Key:
    return cls, json.dumps(kwargs, sort_keys=True)


def together(*keys: Key) -> None:
    """These reads of the current host are made in one round trip, at the first that is needed."""
    for key in keys:
        _groups[host.state, host.name, key] = keys


def fact(cls: type[FactBase], **kwargs):
    """`cls`'s value on the current host, from its group's one read if one declared it."""
    key = read(cls, **kwargs)
    slot = (host.state, host.name, host.state.is_executing)
    if (slot, key) not in _values:
        group = [k for k in _groups.get((host.state, host.name, key), (key,)) if (slot, k) not in _values]
        if len(group) > 1:
            reads = [[fact_name(c), json.loads(k)] for c, k in group]
            for (c, k), (status, lines) in zip(group, host.get_fact(Batch, reads=reads)):
                if status == 0:
                    try:
                        _values[slot, (c, k)] = c().process(lines) if lines else c().default()
                    except Exception:  # read it alone below: pyinfra reports it its own way
                        pass
        if (slot, key) not in _values:
            _values[slot, key] = host.get_fact(cls, **kwargs)
    return _values[slot, key]


def clear() -> None:
    """Forget every value and group (a new run in the same process: tests, the recorder)."""
    _groups.clear()
    _values.clear()
