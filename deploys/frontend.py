"""WoD portal: pyinfra inventories/<env>.py deploys/frontend.py

The runbook is the role's component list in wod_deploy/roles.py: upload staging, the shared baseline
(packages, admin user, system), the portal built for production (as an unprivileged user, only
when its source changed), nginx serving it, fail2ban, the firewall. Hosts outside the `frontend` group are left alone.
"""

from wod_deploy.roles import converge

converge("frontend")
