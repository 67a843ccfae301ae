"""Run the pyinfra CLI in-process and report how many remote commands and file transfers it made.

    python -m tests.integration.count_commands INVENTORY DEPLOY [pyinfra args...]

Prints `remote-commands: N` as its last stderr line; exits with pyinfra's exit code.
"""

import atexit
import sys

from pyinfra.connectors.ssh import SSHConnector

calls = {"n": 0}


def _counting(method):
    def wrapper(self, *args, **kwargs):
        calls["n"] += 1
        return method(self, *args, **kwargs)

    return wrapper


for _name in ("run_shell_command", "put_file", "get_file"):
    setattr(SSHConnector, _name, _counting(getattr(SSHConnector, _name)))

atexit.register(lambda: print(f"remote-commands: {calls['n']}", file=sys.stderr))

if __name__ == "__main__":
    from pyinfra_cli.main import main

    sys.argv = ["pyinfra", *sys.argv[1:]]
    main()
