"""The api-db's database replaced by a dump from this machine:
WOD_RESTORE_DUMP=FILE pyinfra inventories/<env>.py deploys/api_db_restore.py --limit HOST
(or `wod-deploy restore`). Converge the host first (deploys/api_db.py): the restore needs its
PostgreSQL, its database role and its app. Hosts outside the `api_db` group are left alone.
"""

import os

from pyinfra import host, inventory

from wod_deploy.components import apidb_backup
from wod_deploy.settings import load_settings

if "api_db" in host.groups:
    settings = load_settings(host.data, host=host.name, inventory=inventory)
    apidb_backup.restore(settings, os.environ["WOD_RESTORE_DUMP"], settings.WODAPIDBPORT)
