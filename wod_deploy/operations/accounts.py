"""Local accounts, read in one round trip (facts/accounts.Account) before pyinfra's server.user,
whose own facts read every account on the host (half a second here, at each converge)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation
from pyinfra.operations import server

from facts.accounts import Account

from .. import reads


@operation()
def account(user: str, home: str, shell: str, system: bool = False, create_home: bool = False):
    """`user` with this home (a directory it owns) and shell: nothing when so, else server.user."""
    found = reads.fact(Account, user=user)
    if found and (found["home"], found["shell"], found["home_owner"]) == (home, shell, user):
        host.noop(f"user {user} exists, home {home}, shell {shell}")
        return
    yield from server.user._inner(user=user, home=home, shell=shell, system=system, create_home=create_home)
