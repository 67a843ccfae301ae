"""The running throwaway Docker hosts (`wod-deploy hosts up`), grouped by role, over real SSH."""

from wod_deploy.testing.hosts import inventory_entry, running

_hosts = running()
backend = [inventory_entry(h) for h in _hosts if h.role == "backend"]
api_db = [inventory_entry(h) for h in _hosts if h.role == "api_db"]
frontend = [inventory_entry(h) for h in _hosts if h.role == "frontend"]
