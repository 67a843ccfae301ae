"""The running throwaway Docker hosts (`wod-deploy hosts up`), grouped by role, over real SSH.

WOD_HOSTS=a,b lists only those hosts (a test picks its own among others running). Hosts come in
name order: the order of the backend group is what BASESTDID follows.
"""

import os

from wod_deploy.roles import ROLES
from wod_deploy.testing.hosts import inventory_entry, running

_only = set(filter(None, os.environ.get("WOD_HOSTS", "").split(",")))
_hosts = sorted((h for h in running() if not _only or h.name in _only), key=lambda h: h.name)  # a stable order
for _role in ROLES:
    globals()[_role] = [inventory_entry(h) for h in _hosts if h.role == _role]
