"""WoD backend: pyinfra inventories/<env>.py deploys/backend.py"""

from pyinfra import host

from wod_deploy.admin import admin_user
from wod_deploy.baseline import BACKEND_PACKAGES, baseline
from wod_deploy.jupyterhub import jupyterhub
from wod_deploy.kernels import kernels
from wod_deploy.settings import load_settings
from wod_deploy.students import students

settings = load_settings(host.data, host=host.name)  # already checked for every host by config.py

baseline(settings, role_packages=BACKEND_PACKAGES)
admin_user(settings)
students(settings)
jupyterhub(settings)
kernels(settings)
