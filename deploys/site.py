"""Every WoD role, each on the hosts of its own group: pyinfra inventories/<env>.py deploys/site.py"""

from wod_deploy.roles import ROLES, converge

for role in ROLES:
    converge(role)
