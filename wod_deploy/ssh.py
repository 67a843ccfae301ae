"""The SSH connection to a host, without Nagle's delay, and its first command sent ahead.

Every fact and command is one SSH channel, a few small packets each way. paramiko sets no socket
option, so the kernel holds a small packet until the previous one is acknowledged, and the other
side acknowledges late (Linux: 40 ms) when it has nothing to send. Measured here, one channel
running `true` over an open connection: 49 ms as paramiko leaves it, 3.6 ms with TCP_NODELAY
(`sudo -H -n sh -c true`: 55 ms, 9.6 ms). A no-change converge is some twenty of them per host.
"""

from __future__ import annotations

import functools
import socket
import weakref

from paramiko import SSHException
from pyinfra.api.command import StringCommand
from pyinfra.connectors.util import make_unix_command_for_host


def no_delay(host) -> bool:
    """Turn Nagle off on the host's SSH socket, if it is one (not a proxy command, not @local).
    Returns whether it was set."""
    client = getattr(host.connector, "client", None)
    transport = client.get_transport() if client is not None else None
    sock = getattr(transport, "sock", None)
    if not isinstance(sock, socket.socket) or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return True


# --- a command sent ahead --------------------------------------------------------------------
# pyinfra prepares every host's operations (the controller's one core, the hosts idle), then
# runs the first operation on all of them (the hosts reading, the controller idle). A host's
# first read is known once its own preparation ends: sent then, the host runs it while pyinfra
# prepares the next hosts. pyinfra's run of the same command later takes this channel, still
# running or done, instead of opening one: the command must be the first the host is asked for,
# byte for byte as pyinfra would send it (its sudo and other global arguments), or it is dropped.

_ahead: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # paramiko client: (channel, command)


def send_ahead(host, command: str, arguments: dict) -> bool:
    """Start `command` on a channel of its own, as pyinfra would run it with these connector
    arguments (a fact's: `_sudo`, `_env`, ...). Returns whether it was sent.

    Opening the channel waits for the host (just after a login, for sshd to finish setting the
    session up: 50 ms here), and pyinfra prepares the next host meanwhile."""
    client = getattr(host.connector, "client", None)
    transport = client.get_transport() if client is not None else None
    if transport is None or not transport.is_active() or arguments.get("_get_pty") \
            or arguments.get("_use_sudo_password"):
        return False  # not SSH, or a pty or a sudo password: pyinfra's own way only
    run = {k: v for k, v in arguments.items() if k not in ("_get_pty", "_timeout", "_stdin", "_success_exit_codes")}
    raw = make_unix_command_for_host(host.state, host, StringCommand(command), **run).get_raw_value()
    try:
        channel = transport.open_session()
        channel.exec_command(raw)
    except (SSHException, OSError, EOFError):  # then it is run when asked for, as usual
        return False
    earlier = _ahead.pop(client, None)
    if earlier is not None:  # a host of two roles (deploys/site.py): the later read has them all
        earlier[0].close()
    _ahead[client] = channel, raw
    if "exec_command" not in vars(client):
        client.exec_command = functools.partial(_exec_command, client, client.exec_command)
    return True


def _exec_command(client, exec_command, command, bufsize=-1, timeout=None, get_pty=False, environment=None):
    """paramiko's exec_command, but the first command asked for is served by the channel it was
    sent ahead on, if it is the same one; any other drops that channel (and its output)."""
    channel, sent = _ahead.pop(client, (None, None))
    if channel is not None and command == sent and not get_pty and not environment and timeout is None:
        return channel.makefile_stdin("wb", bufsize), _Lines(channel, channel.recv), \
            _Lines(channel, channel.recv_stderr)
    if channel is not None:
        channel.close()
    return exec_command(command, bufsize=bufsize, timeout=timeout, get_pty=get_pty, environment=environment)


class _Lines:
    """A channel's output as pyinfra reads it (its lines, each with its newline, and `.channel`),
    received in large pieces and split once, at newlines only: paramiko's file reads a line at a
    time, in Python, some hundreds for a host's whole read. A byte that is not UTF-8 is replaced
    (paramiko's file would raise)."""

    def __init__(self, channel, recv):
        self.channel, self._recv = channel, recv

    def __iter__(self):
        lines = b"".join(iter(functools.partial(self._recv, 1 << 16), b"")).decode("utf-8", "replace").split("\n")
        last = lines.pop()  # after the final newline: nothing, or a last line without one
        return iter([f"{line}\n" for line in lines] + ([last] if last else []))
