"""An inventory file loaded exactly as the pyinfra CLI loads it (so group_data/ layering is the
same), host selection by --limit, and where each of a host's settings comes from."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Iterable, Iterator

from .settings import DECLARED


@dataclass
class Loaded:
    inventory: object
    path: str
    folders: list[str] = field(default_factory=list)  # group_data folders, lowest precedence first
    overlays: tuple[str, ...] = ()  # those given with --group-data (the private overlay)


@contextmanager
def loaded(path: str, override_data: dict | None = None, group_data: list[str] | None = None) -> Iterator[Loaded]:
    """The inventory (run from the project root), with pyinfra's contexts in place while in use."""
    from pyinfra.api import Config, State
    from pyinfra.context import ctx_config, ctx_inventory, ctx_state
    from pyinfra_cli.inventory import make_inventory

    state, config = State(), Config()
    state.cwd = os.getcwd()
    with ctx_state.use(state), ctx_config.use(config):
        inventory = make_inventory(path, cwd=state.cwd, override_data=override_data or {},
                                   group_data_directories=group_data or [])
        state.init(inventory, config)
    # the folders pyinfra_cli.inventory reads, in its order
    folders = [str(Path(state.cwd) / "group_data")]
    if str(Path(path).parent.resolve()) != state.cwd:
        folders.append(str(Path(path).parent.resolve() / "group_data"))
    folders += list(group_data or [])
    with ctx_state.use(state), ctx_config.use(config), ctx_inventory.use(inventory):
        yield Loaded(inventory, path, folders, tuple(group_data or ()))


def selected(host, limit: Iterable[str] | None) -> bool:
    """--limit as pyinfra reads it: a group name or a host name pattern."""
    return not limit or any(pattern in host.groups or fnmatch(host.name, pattern) for pattern in limit)


def _defined_in(folder: str, group: str) -> set[str]:
    from pyinfra_cli.inventory import _get_group_data  # pyinfra's own reader: the same rules

    return set(_get_group_data(str(Path(folder) / f"{group}.py")).get(group, {})) if \
        (Path(folder) / f"{group}.py").is_file() else set()


def origins(loaded_inventory: Loaded, host) -> dict[str, str]:
    """{setting: where its value comes from}, following pyinfra's precedence (highest first):
    --data, the inventory's host data, group data (the last group wins; within a group the
    last group_data folder wins), all.py, then the declaration in wod_deploy/settings.py."""
    inv = loaded_inventory.inventory
    cwd = os.getcwd()

    def label(folder: str, group: str) -> str:
        where = os.path.relpath(Path(folder) / f"{group}.py", cwd)
        return f"{where} (private overlay)" if folder in loaded_inventory.overlays else where

    layers: list[tuple[str, set[str]]] = [("--data", set(inv.get_override_data())),
                                          (f"{loaded_inventory.path} (host)", set(inv.get_host_data(host.name)))]
    for group in [*reversed(host.groups), "all"]:
        data = inv.get_data() if group == "all" else inv.get_group_data(group)
        from_files: set[str] = set()
        for folder in reversed(loaded_inventory.folders):
            keys = _defined_in(folder, group) - from_files
            layers.append((label(folder, group), keys))
            from_files |= keys
        layers.append((f"{loaded_inventory.path} (group {group})", set(data) - from_files))
    found = {}
    for name in DECLARED:
        found[name] = next((where for where, keys in layers if name in keys), "default (wod_deploy/settings.py)")
    derived = {"APIDB_ADDRESSES": "the inventory's api_db hosts", "APIDB_PEERS": "the backend and frontend hosts",
               "WODBEEXTFQDN": "the inventory host name", "WODAPIDBURL": "the inventory's api_db host",
               "BASESTDID": "the backends before it in the inventory"}
    for name, source in derived.items():
        if found[name].startswith("default"):
            found[name] = f"derived ({source})"
    return found
