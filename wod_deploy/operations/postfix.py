"""Postfix parameters and services (facts/postfix.py)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation

from facts.postfix import PostfixConfig

from .. import reads
from ..shell import sh


@operation()
def postfix(main: dict[str, str], master: dict[str, str | None]):
    """main.cf parameters (postconf -e) and master.cf services (postconf -M; None removes one)."""
    current = reads.fact(PostfixConfig)
    changed = False
    for key, value in main.items():
        if current.get("main", {}).get(key) != value:
            changed = True
            yield sh("postconf -e %s", f"{key} = {value}")
    for service, line in master.items():
        have = current.get("master", {}).get(service)
        if line is None and have is not None:
            changed = True
            yield sh("postconf -MX %s", service)
        elif line is not None and have != line:
            changed = True
            yield sh("postconf -M %s", f"{service}={line}")
    if not changed:
        host.noop(f"postfix has its {len(main)} parameters and {len(master)} services")
