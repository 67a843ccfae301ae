"""The students component alone (for measuring it at scale)."""

from pyinfra import host

from wod_deploy.settings import load_settings
from wod_deploy.students import students

students(load_settings(host.data, host=host.name))
