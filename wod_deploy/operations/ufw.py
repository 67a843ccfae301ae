"""The ufw firewall (facts/ufw.py)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation

from facts.ufw import Ufw

from .. import reads
from ..shell import sh
from .apt import apt_packages


@operation()
def ufw(rules: list[str], incoming: str = "deny"):
    """ufw with exactly `rules` (as `ufw show added` prints them), default incoming policy, active.

    Rules are added before the firewall is enabled, so the SSH rule is in place first. A rule is
    ufw's own command line, built from validated settings (ports, addresses). Debian's ufw is
    installed first when it is missing (the one read says so: no package read at each converge).
    A rule that one family's file lacks is added again: ufw adds the missing half and skips the
    other.
    """
    state = reads.fact(Ufw)
    if state is None:
        yield from apt_packages._inner(packages=["ufw"])
        state = {"active": False, "incoming": "", "rules": [], "only_in": {}}
    commands = [rule for rule in rules if rule not in state["rules"]]
    commands += ["ufw delete " + rule.removeprefix("ufw ") for rule in [*state["rules"], *state["only_in"]]
                 if rule not in rules]
    if state["incoming"] != incoming:
        commands.append(sh("ufw default %s incoming", incoming))
    if not state["active"]:
        commands.append("ufw --force enable")
    if not commands:
        host.noop(f"ufw is active with its {len(rules)} rules")
    yield from commands
