"""Validate the settings of every host before pyinfra connects to any of them.

pyinfra runs `config.py` before it loads the inventory, and resets its callback handlers when
the state is initialised; so `config.py` asks for a hook on `state.init`, which registers a
callback whose first `host_before_connect` validates all hosts at once. One bad host stops
the whole run, before a single SSH connection is opened.
"""

from __future__ import annotations

from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.state import BaseStateCallback

from .settings import SettingsError, load_settings, overlapping_ranges


class PreflightError(PyinfraError):
    """Shown by the pyinfra CLI as `--> pyinfra error: ...`, exit code 1."""


def validate_inventory(inventory) -> dict:
    """Settings for every host of an inventory; raise one error listing every bad host."""
    settings, errors = {}, []
    for host in inventory:
        try:
            settings[host.name] = load_settings(host.data, host=host.name, inventory=inventory)
        except SettingsError as exc:
            errors.append(str(exc))
            continue
        if "frontend" in host.groups and not settings[host.name].APIDB_UPSTREAM:
            errors.append(f"{host.name}: APIDB_UPSTREAM='': the portal needs an api-db; put one in the inventory's "
                          f"api_db group or set APIDB_UPSTREAM")
    errors += overlapping_ranges(inventory)
    if errors:
        raise PreflightError("\n".join(errors) + "\nNothing was changed on any host.")
    return settings


class _Preflight(BaseStateCallback):
    def __init__(self):
        self.error: PreflightError | None = None
        self.done = False

    def host_before_connect(self, state, host):
        if not self.done:
            self.done = True
            try:
                validate_inventory(state.inventory)
            except PreflightError as exc:
                self.error = exc
        if self.error:
            raise self.error


def install(state) -> None:
    """Hook the preflight into a pyinfra CLI state (call from `config.py`)."""
    original_init = state.init

    def init(*args, **kwargs):
        original_init(*args, **kwargs)
        state.add_callback_handler(_Preflight())

    state.init = init
