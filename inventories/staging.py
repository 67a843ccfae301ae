"""The staging environment: one host per WoD role (example names; edit to yours).

Log in as an admin account with passwordless sudo, e.g. {"ssh_user": "admin"}.
"""

backend = [("wod-backend.staging.example.org", {"ssh_user": "admin"})]
api_db = [("wod-api.staging.example.org", {"ssh_user": "admin"})]
frontend = [("wod-portal.staging.example.org", {"ssh_user": "admin"})]
