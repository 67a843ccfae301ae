"""Run the pyinfra CLI in-process and report how many remote commands and file transfers it made.

    python -m tests.integration.count_commands INVENTORY DEPLOY [pyinfra args...]

Prints `remote-commands-by-deploy: {...}` (each component's @deploy name: its remote round
trips, whether fact reads or commands) and then `remote-commands: N` as its last stderr line;
exits with pyinfra's exit code.
"""

import atexit
import json
import sys
from collections import Counter

from pyinfra.connectors.ssh import SSHConnector

calls = {"n": 0}
by_deploy: Counter = Counter()


def _component(host) -> str:
    """The @deploy name of the operation running (pyinfra 3 reads facts when it runs the op)."""
    op_hash = getattr(host, "current_op_hash", None)
    if not op_hash:
        return "(connect, outside any operation)"
    names = sorted(host.state.get_op_meta(op_hash).names)
    return names[0].split(" | ")[0] if names else "(unnamed)"


def _counting(method):
    def wrapper(self, *args, **kwargs):
        calls["n"] += 1
        by_deploy[_component(self.host)] += 1
        return method(self, *args, **kwargs)

    return wrapper


for _name in ("run_shell_command", "put_file", "get_file"):
    setattr(SSHConnector, _name, _counting(getattr(SSHConnector, _name)))

@atexit.register
def _report():
    print(f"remote-commands-by-deploy: {json.dumps(dict(by_deploy))}", file=sys.stderr)
    print(f"remote-commands: {calls['n']}", file=sys.stderr)

if __name__ == "__main__":
    from pyinfra_cli.main import main

    sys.argv = ["pyinfra", *sys.argv[1:]]
    main()
