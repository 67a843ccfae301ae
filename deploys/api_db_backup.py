"""A dump of the api-db's database made now and brought here:
WOD_BACKUP_TO=DIR pyinfra inventories/<env>.py deploys/api_db_backup.py (or `wod-deploy backup`).

Each api-db host's dump lands as DIR/<host>.dump. Hosts outside the `api_db` group are left alone.
"""

import os

from pyinfra import host, inventory

from wod_deploy.components import apidb_backup
from wod_deploy.settings import load_settings

if "api_db" in host.groups:
    settings = load_settings(host.data, host=host.name, inventory=inventory)
    apidb_backup.fetch(settings, os.path.join(os.environ["WOD_BACKUP_TO"], f"{host.name}.dump"))
