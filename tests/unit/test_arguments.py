"""The global arguments read once are pyinfra's own, and pyinfra's per-operation code uses them; a host's
pinned values are those pyinfra would take."""

from typing import get_type_hints

from pyinfra.api import Config, Inventory, State
from pyinfra.api import arguments as pyinfra_arguments
from pyinfra.context import ctx_host, ctx_state

from wod_deploy import arguments


def test_the_same_arguments_and_types_as_pyinfra():
    assert arguments.all_global_arguments() == list(get_type_hints(pyinfra_arguments.AllArguments).items())
    assert any(name == "_sudo" for name, _ in arguments.all_global_arguments())


def test_installed_where_pop_global_arguments_reads_it():
    arguments.install()
    arguments.install()
    assert pyinfra_arguments.all_global_arguments is arguments.all_global_arguments
    assert arguments.pyinfra_all_global_arguments is not arguments.all_global_arguments


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
