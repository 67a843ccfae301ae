"""The students component alone (for measuring it at scale)."""

from pyinfra import host

from wod_deploy.components import students
from wod_deploy.settings import load_settings

students.deploy(load_settings(host.data, host=host.name))
