"""WoD backend: pyinfra inventories/<env>.py deploys/backend.py [--group-data PRIVATE/group_data]

The runbook is the role's component list in wod_deploy/roles.py: packages, admin user, system,
students, JupyterHub, kernels, workshops, mail API, fail2ban, firewall. Hosts outside the
`backend` group are left alone.
"""

from wod_deploy.roles import converge

converge("backend")
