"""Every WoD role, each on the hosts of its own group: pyinfra inventories/<env>.py deploys/site.py

One line per role, in this order: each role runs after the ones above it, on every host
(wod_deploy.roles.converge puts a no-op step between them), so every backend is converged before
the api-db that drives them, and the api-db before the portal, whose build reads it.
"""

from wod_deploy.roles import converge

converge("backend")
converge("api_db")
converge("frontend")
