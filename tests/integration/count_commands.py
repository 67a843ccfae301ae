"""Run the pyinfra CLI in-process and report how many remote commands and file transfers it made.

    python -m tests.integration.count_commands INVENTORY DEPLOY [pyinfra args...]

Prints `remote-commands-by-deploy: {...}` (each component's @deploy name: its remote round
trips, whether fact reads or commands), `remote-commands-sent-ahead: N` (those of them that were
started before pyinfra asked for them, wod_deploy/ssh.py) and then `remote-commands: N` as its
last stderr line;
exits with pyinfra's exit code.
"""

import atexit
import json
import sys
from collections import Counter

from pyinfra.connectors.ssh import SSHConnector

from wod_deploy import ssh

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

_served = ssh._exec_command
sent_ahead = {"taken": 0}


def _taking(client, exec_command, command, *args, **kwargs):
    """Counts the commands served by a channel sent ahead, that is without a channel of their own
    (each still counted above as a remote command)."""
    opened = []

    def own(*a, **k):
        opened.append(True)
        return exec_command(*a, **k)

    result = _served(client, own, command, *args, **kwargs)
    sent_ahead["taken"] += not opened
    return result


ssh._exec_command = _taking

@atexit.register
def _report():
    print(f"remote-commands-by-deploy: {json.dumps(dict(by_deploy))}", file=sys.stderr)
    print(f"remote-commands-sent-ahead: {sent_ahead['taken']}", file=sys.stderr)
    print(f"remote-commands: {calls['n']}", file=sys.stderr)

if __name__ == "__main__":
    from pyinfra_cli.main import main

    sys.argv = ["pyinfra", *sys.argv[1:]]
    main()
