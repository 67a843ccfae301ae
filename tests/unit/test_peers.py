"""runtime/peers.py: the owner of a loopback connection's other end, read from /proc/net/tcp."""

import socket

from wod_deploy.runtime import peers

# Recorded on a backend: the hub listening on 127.0.0.1:8081 (root), the proxy (root) connected
# to it from port 41170, a participant (uid 2007) connected from 41172.
TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1
   1: 0100007F:A0D2 0100007F:1F91 01 00000000:00000000 00:00000000 00000000     0        0 1002 1
   2: 0100007F:1F91 0100007F:A0D2 01 00000000:00000000 00:00000000 00000000     0        0 1003 1
   3: 0100007F:A0D4 0100007F:1F91 01 00000000:00000000 00:00000000 00000000  2007        0 1004 1
   4: 0100007F:1F91 0100007F:A0D4 01 00000000:00000000 00:00000000 00000000     0        0 1005 1
"""


def test_the_owner_of_each_end_is_told_apart():
    hub = ("127.0.0.1", 8081)
    assert peers.owner(TABLE, ("127.0.0.1", 41170), hub) == 0
    assert peers.owner(TABLE, ("127.0.0.1", 41172), hub) == 2007
    assert peers.owner(TABLE, ("127.0.0.1", 41174), hub) is None  # unknown: never trusted


def test_a_live_connection_is_found_in_the_kernel_table():
    import os

    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
        with client, accepted:
            assert peers.peer_uid(accepted) == os.getuid()
            assert peers.peer_uid(client) == os.getuid()
