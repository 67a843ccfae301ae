"""The global arguments read once are pyinfra's own and pyinfra's per-operation code uses them; a host's
pinned values, and an operation's arguments resolved once per host and deploy, are those pyinfra gives."""

from typing import get_type_hints

import pytest
from pyinfra.api import Config, Inventory, State
from pyinfra.api import arguments as pyinfra_arguments
from pyinfra.api.exceptions import ArgumentTypeError
from pyinfra.context import ctx_config, ctx_host, ctx_state

from wod_deploy import arguments


def test_the_same_arguments_and_types_as_pyinfra():
    assert arguments.all_global_arguments() == list(get_type_hints(pyinfra_arguments.AllArguments).items())
    assert any(name == "_sudo" for name, _ in arguments.all_global_arguments())


def test_installed_where_pop_global_arguments_reads_it():
    arguments.install()
    arguments.install()
    assert pyinfra_arguments.all_global_arguments is arguments.all_global_arguments
    assert arguments.pyinfra_all_global_arguments is not arguments.all_global_arguments
    assert arguments.pyinfra_operation.pop_global_arguments is arguments.pop_global_arguments
    assert arguments.pyinfra_pop_global_arguments is pyinfra_arguments.pop_global_arguments


def test_pinned_arguments_are_what_pyinfra_would_take_for_each_operation():
    inventory = Inventory(([("@fake", {"_sudo": False})], {}), wods=(["@fake"], {"_sudo": True, "_retries": 2}))
    state = State(inventory, Config(SUDO_USER="wodadmin"))
    host = inventory.get_host("@fake")
    before = {key: host.data.get(key, "unset") for key, _ in arguments.all_global_arguments()}
    with ctx_state.use(state), ctx_host.use(host):
        wanted, _ = pyinfra_arguments.pop_global_arguments(state, host, {})
        arguments.pin(host)
        assert pyinfra_arguments.pop_global_arguments(state, host, {}) == (wanted, [])
    assert wanted["_sudo"] is False and wanted["_retries"] == 2 and wanted["_sudo_user"] == "wodadmin"
    assert all(key in host.data.override_datas for key in before)
    assert {key: host.data.get(key) for key, value in before.items() if value != "unset"} == \
        {key: value for key, value in before.items() if value != "unset"}


def test_an_operations_arguments_are_what_pyinfra_gives_it_in_each_deploy_and_config():
    inventory = Inventory(([("@fake", {"_sudo": False})], {}), wods=(["@fake"], {"_sudo": True, "_retries": 2}))
    state = State(inventory, Config(SUDO_USER="wodadmin", ENV={"LANG": "C"}))
    host = inventory.get_host("@fake")

    def both(**kwargs):
        ours = arguments.pop_global_arguments(state, host, mine := dict(kwargs))
        assert ours == pyinfra_arguments.pop_global_arguments(state, host, theirs := dict(kwargs))
        assert mine == theirs  # what is left for the operation itself
        return ours

    with ctx_state.use(state), ctx_host.use(host):
        args, found = both(name="Install", path="/etc/wod")
        assert (args["name"], args["_sudo"], args["_retries"], args["_sudo_user"], found) == \
            ("Install", False, 2, "wodadmin", ["name"])
        args["_if"].append("changed by an operation")  # each operation gets its own copy
        assert both()[0]["_if"] == []
        assert both(_sudo=True, _env={"A": "1"})[0]["_env"] == {"LANG": "C", "A": "1"}  # through pyinfra's handler
        with pytest.raises(ArgumentTypeError, match="_retries"):
            arguments.pop_global_arguments(state, host, {"_retries": "twice"})
        with host.deploy(name="A deploy", kwargs=both(_sudo_user="postgres")[0], data=None):
            assert both(name="In a deploy")[0]["_sudo_user"] == "postgres"
        with ctx_config.use(Config(SUDO_USER="root")):  # pyinfra's copy of the config for one host's deploy
            assert both()[0]["_sudo_user"] == "root"
        assert both()[0]["_sudo_user"] == "wodadmin"
