"""Our read of an operation's call site gives pyinfra's own order, whatever the depth."""

from types import SimpleNamespace

import pytest
from pyinfra.api.util import get_operation_order_from_stack

from wod_deploy import callsite


def nested(depth: int, read):
    return read() if depth == 0 else nested(depth - 1, read)


@pytest.mark.parametrize("deploy_file", [__file__, "", "/not/on/the/stack.py"])
@pytest.mark.parametrize("depth", [0, 3])
def test_the_same_line_numbers_as_pyinfra(deploy_file, depth):
    state = SimpleNamespace(current_deploy_filename=deploy_file, current_op_file_number=7)
    theirs, ours = (nested(depth, lambda read=read: read(state))  # one line: the same call sites
                    for read in (get_operation_order_from_stack, callsite.operation_order))
    assert ours == theirs and (ours or deploy_file.startswith("/not"))


def test_installed_once_into_pyinfra():
    callsite.install()
    callsite.install()
    assert callsite.pyinfra_operation.get_operation_order_from_stack is callsite.operation_order
