"""wod_deploy/ssh.py: a command sent ahead serves pyinfra's run of that same command only, once."""

from __future__ import annotations

import functools
from types import SimpleNamespace

import pytest

from wod_deploy import ssh


class Channel:
    def __init__(self):
        self.closed = False
        self.out = [b"B 711 0 0\nH /student/stu", "dent1 \u00e9\rx\n".encode(), b"last, no newline"]
        self.err = [b"warning\n"]

    def recv(self, size):
        return self.out.pop(0) if self.out else b""

    def recv_stderr(self, size):
        return self.err.pop(0) if self.err else b""

    def makefile_stdin(self, mode, bufsize):
        return ("in", self)

    def close(self):
        self.closed = True


class Client:
    """A paramiko client whose own exec_command records what it is asked to run."""

    def __init__(self):
        self.ran = []
        self.exec_command = functools.partial(ssh._exec_command, self, self._exec)

    def _exec(self, command, **kwargs):
        self.ran.append(command)
        return "its own channel"


@pytest.fixture
def ahead():
    client, channel = Client(), Channel()
    ssh._ahead[client] = channel, "sudo -H -n sh -c 'read everything'"
    return client, channel


def test_the_same_command_takes_the_channel_it_was_sent_on_and_only_once(ahead):
    client, channel = ahead
    stdin, stdout, stderr = client.exec_command("sudo -H -n sh -c 'read everything'")
    assert stdin == ("in", channel) and stdout.channel is channel and stderr.channel is channel
    # lines as paramiko's file gives them: split at newlines only, across the pieces received
    assert list(stdout) == ["B 711 0 0\n", "H /student/student1 \u00e9\rx\n", "last, no newline"]
    assert list(stderr) == ["warning\n"]
    assert client.ran == [] and not channel.closed
    assert client.exec_command("sudo -H -n sh -c 'read everything'") == "its own channel"
    assert client.ran == ["sudo -H -n sh -c 'read everything'"]


def test_any_other_command_first_drops_what_was_sent_ahead(ahead):
    client, channel = ahead
    assert client.exec_command("sudo -H -n sh -c 'apt-get install x'") == "its own channel"
    assert channel.closed
    assert client.exec_command("sudo -H -n sh -c 'read everything'") == "its own channel"  # read again, after


def test_a_run_with_a_pty_is_not_served_ahead(ahead):
    client, channel = ahead
    assert client.exec_command("sudo -H -n sh -c 'read everything'", get_pty=True) == "its own channel"
    assert channel.closed


def test_a_host_of_two_roles_keeps_only_the_later_read_sent_ahead(monkeypatch, ahead):
    client, first = ahead
    second = Channel()
    second.exec_command = lambda command: None
    client.get_transport = lambda: SimpleNamespace(is_active=lambda: True, open_session=lambda: second)
    monkeypatch.setattr(ssh, "make_unix_command_for_host",
                        lambda state, host, command, **kwargs: SimpleNamespace(get_raw_value=lambda: "both"))
    host = SimpleNamespace(connector=SimpleNamespace(client=client), state=None)
    assert ssh.send_ahead(host, "read both roles", {"_sudo": True})
    assert first.closed and ssh._ahead[client] == (second, "both")
    assert ssh.send_ahead(host, "read both roles", {"_get_pty": True}) is False  # a pty: pyinfra's way
