"""Where an operation was called from, read the fast way.

pyinfra orders a deploy's operations by the line numbers of their call stack (from the deploy file
inwards, pyinfra's own frames left out). pyinfra 3.10 reads them with `inspect.stack()`, which also
looks up every frame's module and source line: about 10 ms per operation per host here, most of
the controller's work in a no-change converge, and what six backends in parallel wait for on one
core. The frames hold the same file names and line numbers; this reads only those.
tests/unit/test_callsite.py checks both give the same order.
"""

from __future__ import annotations

import importlib
import sys

import pyinfra
from pyinfra.api.util import PYINFRA_INSTALL_DIR, get_operation_order_from_stack

# the module (pyinfra.api's `operation` is the decorator of the same name)
pyinfra_operation = importlib.import_module("pyinfra.api.operation")


def operation_order(state) -> list[int]:
    """pyinfra's get_operation_order_from_stack, from frame attributes alone."""
    frames = [(f"{PYINFRA_INSTALL_DIR}/api/util.py", 0)]  # where pyinfra's function would stand (skipped)
    frame = sys._getframe(1)
    while frame is not None:
        frames.append((frame.f_code.co_filename, frame.f_lineno))
        frame = frame.f_back
    frames.reverse()
    start = 0
    if state.current_deploy_filename:  # the first frame of the deploy file, from the outside in
        start = next((i for i, (name, _) in enumerate(frames) if name == state.current_deploy_filename),
                     len(frames) - 1)
    numbers = [state.current_op_file_number] if pyinfra.is_cli else []
    return numbers + [line for name, line in frames[start:] if not name.startswith(PYINFRA_INSTALL_DIR)]


def install() -> None:
    """Use operation_order for the operations called from now on (pyinfra 3.10's call site)."""
    if pyinfra_operation.get_operation_order_from_stack is get_operation_order_from_stack:
        pyinfra_operation.get_operation_order_from_stack = operation_order
