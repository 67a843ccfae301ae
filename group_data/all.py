"""Site-wide overrides for every host. WoD's defaults are declared once, with their rules and
descriptions, in wod_deploy/settings.py; list them with

    wod-deploy settings inventories/<env>.py [--limit HOST]

Override per environment in group_data/<env>.py, per role in group_data/<role>.py, per host in
the inventory, privately with --group-data ../wod-private/group_data. No secret lives here:
tokens are generated on the hosts, passwords come from the deploying environment.
"""

# Every operation runs through sudo: we log in as an ordinary admin account.
_sudo = True
