"""A host's reads, made in as few round trips as its changes allow.

A no-change converge is its reads: each is an SSH channel, a sudo and a shell on the host (about
9 ms of the host's CPU here), however little it reads. A component declares, when its deploy
runs, the facts its operations will read (`together`). A read made while no operation has yet
changed the host reads, in one command (facts/batch.Batch), every declared read not yet made:
on a no-change converge, the first read is the only one, and it is started as soon as the
host's deploy is prepared (`send_ahead`), while pyinfra prepares the other hosts. A fact no
component declared is read on its own, as host.get_fact would. Reads of a fact that can merge them (ManagedState: the
files and units each component manages) go as one read of all.

A value read ahead for a component serves it only if no operation has run commands on the host
since it was read; otherwise the component reads its group again, in one command, at its first
read. Within a component, a value may thus be older than an operation of the same component
that ran in between, so a component declares together only reads whose operations act safely on
an older value: they repair idempotently (an item shown out of place runs its own operation,
which reads again what it needs; a line is appended only if still missing), and none of them
undoes what an earlier one of the group made.

Values are kept per run (pyinfra's State) and host, and apart for the execution (pyinfra may run
operations' code before it, to show changes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.api.arguments import CONNECTOR_ARGUMENT_KEYS, pop_global_arguments

from facts.batch import Batch, fact_name

from . import ssh

Key = tuple[type[FactBase], str]  # a fact class and its kwargs, as JSON
Group = tuple[Key, ...]


@dataclass
class _Reads:
    """One host's reads in one run (and phase)."""
    groups: dict[Key, Group] = field(default_factory=dict)  # each declared read: its group
    values: dict[Key, object] = field(default_factory=dict)
    taken: dict[Key, int] = field(default_factory=dict)  # host changes when each value was read
    started: set[Group] = field(default_factory=set)  # groups an operation has read from
    position: dict[str, int] = field(default_factory=dict)  # each of the host's operations: its place
    looked: int = 0  # the host's operations counted so far, in order
    changes: int = 0  # how many of them ran commands


_runs: dict[tuple, _Reads] = {}  # (run, host, executing?)


def read(cls: type[FactBase], **kwargs) -> Key:
    return cls, json.dumps(kwargs, sort_keys=True)


def together(*keys: Key) -> None:
    """These reads of the current host are made in one round trip, at the first that is needed."""
    for executing in (False, True):
        _host_reads(executing).groups.update(dict.fromkeys(keys, keys))


def fact(cls: type[FactBase], **kwargs):
    """`cls`'s value on the current host, read with its group (and ahead, on an unchanged host)."""
    key = read(cls, **kwargs)
    run = _host_reads(host.state.is_executing)
    group = run.groups.get(key, (key,))
    changes = _changes(run)
    if group not in run.started:  # a value read ahead serves only an unchanged host
        run.started.add(group)
        for k in group:
            if k in run.values and run.taken[k] != changes:
                del run.values[k]
    if key not in run.values:
        wanted = [k for k in group if k not in run.values]
        if changes == 0:  # an unchanged host: every group yet to start, ahead, in their order (send_ahead's)
            wanted = [k for k in wanted if k not in run.groups] + \
                [k for k, g in run.groups.items() if k not in run.values and (g == group or g not in run.started)]
        if len(wanted) > 1:
            _batch(run, wanted, changes)
        if key not in run.values:
            run.values[key], run.taken[key] = host.get_fact(cls, **kwargs), changes
    return run.values[key]


def clear() -> None:
    """Forget every value and group (a new run in the same process: tests, the recorder)."""
    _runs.clear()


def _host_reads(executing: bool) -> _Reads:
    return _runs.setdefault((host.state, host.name, executing), _Reads())


def send_ahead() -> bool:
    """At the end of the current host's preparation, its first read (every declared one, as the
    execution's first read on an unchanged host asks for them) is started now: the host makes it
    while pyinfra prepares the other hosts, and pyinfra's run of it takes its output
    (wod_deploy/ssh.py, which drops it if it is not the first command asked for)."""
    run = _host_reads(True)
    keys = [k for k in run.groups if k not in run.values]
    if len(keys) < 2:
        return False
    arguments, _ = pop_global_arguments(host.state, host, {})  # as a fact read outside an operation's own
    return ssh.send_ahead(host, Batch().command(reads=_named(_merged(keys))),
                          {k: v for k, v in arguments.items() if k in CONNECTOR_ARGUMENT_KEYS})


def _batch(run: _Reads, keys: list[Key], changes: int) -> None:
    sent = _merged(keys)
    for (cls, kwargs), (status, lines) in zip(sent, host.get_fact(Batch, reads=_named(sent))):
        if status != 0:
            continue
        try:
            value = cls().process(lines) if lines else cls().default()
        except Exception:  # each is read alone: pyinfra reports it its own way
            continue
        for key in sent[cls, kwargs]:
            run.values[key] = value if key == (cls, kwargs) else cls.part(value, **json.loads(key[1]))
            run.taken[key] = changes


def _named(sent: dict[Key, list[Key]]) -> list[list]:
    return [[fact_name(cls), json.loads(kwargs)] for cls, kwargs in sent]


def _merged(keys: list[Key]) -> dict[Key, list[Key]]:
    """The reads to send for `keys`, each with the reads it serves: the reads of a fact that can
    merge them (its `merge` and `part`, facts/managed.ManagedState) go as one."""
    sent: dict[Key, list[Key]] = {}
    mergeable: dict[type[FactBase], list[Key]] = {}
    for key in keys:
        if hasattr(key[0], "merge"):
            mergeable.setdefault(key[0], []).append(key)
        else:
            sent[key] = [key]
    for cls, members in mergeable.items():
        one = members[0] if len(members) == 1 else read(cls, **cls.merge([json.loads(k) for _, k in members]))
        sent[one] = members
    return sent


def _changes(run: _Reads) -> int:
    """How many of the current host's operations have run commands so far: those before the one
    running, in the host's order, each looked at once (a finished operation's commands are final).
    Outside an operation, all of them."""
    order = host.op_hash_order
    if len(run.position) != len(order):
        run.position = {op_hash: i for i, op_hash in enumerate(order)}
    upto = run.position.get(host.current_op_hash)
    if upto is None:
        return sum(1 for op in host.state.ops[host].values() if op.operation_meta.executed)
    ops = host.state.ops[host]
    for op_hash in order[run.looked:upto]:
        run.changes += ops[op_hash].operation_meta.executed
    run.looked = max(run.looked, upto)
    return run.changes
