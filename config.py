# pyinfra reads this from the working directory: run pyinfra from the project root.
from pyinfra import config, state

from wod_deploy import preflight
from wod_deploy.settings import Settings

config.REQUIRE_PYINFRA_VERSION = ">=3.10,<3.11"
config.TEMP_DIR = Settings.staging_dir  # made private by the first operation of every role (components/staging)
preflight.install(state)  # bad settings stop the run before any host is connected
