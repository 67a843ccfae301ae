"""The sandbox environment: one host per WoD role (example names; edit to yours).

Log in as an admin account with passwordless sudo, e.g. {"ssh_user": "admin"}.
"""

backend = [("wod-backend.sandbox.example.org", {"ssh_user": "admin"})]
api_db = [("wod-api.sandbox.example.org", {"ssh_user": "admin"})]
frontend = [("wod-portal.sandbox.example.org", {"ssh_user": "admin"})]
