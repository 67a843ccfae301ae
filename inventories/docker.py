"""The running throwaway Docker hosts (`wod-deploy hosts up`), grouped by role, over real SSH.

WOD_HOSTS=a,b lists only those hosts (a test picks its own among others running);
WOD_HOST_PREFIX=name lists only `name` and `name-*` (a test session's own hosts, where a second
checkout runs its hosts beside them). Hosts come in name order: the order of the backend group
is what BASESTDID follows.
"""

import os

from wod_deploy.roles import ROLES
from wod_deploy.testing.hosts import inventory_entry, running

_only = set(filter(None, os.environ.get("WOD_HOSTS", "").split(",")))
_prefix = os.environ.get("WOD_HOST_PREFIX", "")
_hosts = sorted((h for h in running() if (not _only or h.name in _only)
                 and (not _prefix or h.name == _prefix or h.name.startswith(f"{_prefix}-"))),
                key=lambda h: h.name)  # a stable order
for _role in ROLES:
    globals()[_role] = [inventory_entry(h) for h in _hosts if h.role == _role]
