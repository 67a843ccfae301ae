"""The global arguments read once are pyinfra's own, and pyinfra's per-operation code uses them."""

from typing import get_type_hints

from pyinfra.api import arguments as pyinfra_arguments

from wod_deploy import arguments


def test_the_same_arguments_and_types_as_pyinfra():
    assert arguments.all_global_arguments() == list(get_type_hints(pyinfra_arguments.AllArguments).items())
    assert any(name == "_sudo" for name, _ in arguments.all_global_arguments())


def test_installed_where_pop_global_arguments_reads_it():
    arguments.install()
    arguments.install()
    assert pyinfra_arguments.all_global_arguments is arguments.all_global_arguments
    assert arguments.pyinfra_all_global_arguments is not arguments.all_global_arguments
