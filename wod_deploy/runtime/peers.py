"""Who holds the other end of a loopback TCP connection: the uid owning the peer's socket.

Every local account can open and bind TCP ports on loopback, so an address alone says nothing
about who is there. The kernel knows: /proc/net/tcp lists each socket of the network namespace
with its owner. The hub uses this to believe X-Forwarded-For only from the proxy (root); the mail
handler sends the admintk token only to a root-owned listener (a participant may bind the hub's
port while the hub restarts). Standalone, stdlib only: shipped beside the handler.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

TABLE = "/proc/net/tcp"


def _endpoint(field: str) -> tuple[str, int]:
    """`0100007F:1F91` (IPv4 in host byte order, port big-endian hex) -> ('127.0.0.1', 8081)."""
    address, port = field.split(":")
    packed = struct.pack("=I", int(address, 16))
    return str(ipaddress.IPv4Address(packed)), int(port, 16)


def owner(table, local: tuple[str, int], remote: tuple[str, int]) -> int | None:
    """The uid of the socket whose own address is `local` and whose peer is `remote`, from the
    table's lines (a file is read a line at a time: participants make the table as long as they
    like). Pure."""
    lines = iter(table.splitlines() if isinstance(table, str) else table)
    next(lines, None)  # the header
    for line in lines:
        fields = line.split()
        if len(fields) > 7 and (_endpoint(fields[1]), _endpoint(fields[2])) == (local, remote):
            return int(fields[7])
    return None


def peer_uid(sock: socket.socket, table_path: str = TABLE) -> int | None:
    """The uid owning the other end of a connected IPv4 TCP socket; None when it cannot be told."""
    try:
        mine, theirs = sock.getsockname()[:2], sock.getpeername()[:2]
        with open(table_path) as f:
            return owner(f, theirs, mine)
    except (OSError, ValueError):
        return None
