"""WoD backend: pyinfra inventories/<env>.py deploys/backend.py [--group-data PRIVATE/group_data]"""

from pyinfra import host, inventory

from wod_deploy.admin import admin_user
from wod_deploy.baseline import baseline
from wod_deploy.jupyterhub import jupyterhub
from wod_deploy.kernels import kernels
from wod_deploy.mailapi import mail_api
from wod_deploy.security import fail2ban, firewall
from wod_deploy.settings import load_settings
from wod_deploy.students import students
from wod_deploy.system import system
from wod_deploy.workshops import workshops

settings = load_settings(host.data, host=host.name, inventory=inventory)  # checked for every host by config.py

baseline(settings)
admin_user(settings)
system(settings)
students(settings)
jupyterhub(settings)
kernels(settings)
workshops(settings)
mail_api(settings)
fail2ban(settings)
firewall(settings)
