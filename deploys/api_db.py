"""WoD api-db: WOD_APIDB_PASSWORD=... WOD_APIDB_ADMIN_PASSWORD=... pyinfra inventories/<env>.py deploys/api_db.py

The runbook is the role's component list in wod_deploy/roles.py: upload staging, the shared baseline
(packages, admin user, system), PostgreSQL, the application (built, migrated, run), its reference
rows, fail2ban, the firewall. Hosts outside the `api_db`
group are left alone.
"""

from wod_deploy.roles import converge

converge("api_db")
