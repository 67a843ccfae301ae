"""Shell commands built the testinfra way: a template with `%s` holes, each value quoted.

    sh("cat %s/.wod-digest", dest)  ->  "cat '/var/lib/wod/my dir'/.wod-digest"

No value is ever pasted into a command by hand; lists become one quoted word per item.
Stdlib only: facts/ and operations/ both use it.
"""

from __future__ import annotations

import shlex
from typing import Any


def quote(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(shlex.quote(str(v)) for v in value)
    return shlex.quote(str(value))


def sh(template: str, *values: Any) -> str:
    """`template % values`, every value shell-quoted (a list: each item, space-separated)."""
    return template % tuple(quote(v) for v in values)


def argv(args: list[str], **holes: str) -> str:
    """An argv list as one shell command line; `holes` maps an item to raw shell (e.g. '"$1"')."""
    return " ".join(holes[a] if a in holes else shlex.quote(a) for a in args)
