# pyinfra reads this from the working directory: run pyinfra from the project root.
from pyinfra import config, state

from wod_deploy import preflight

config.REQUIRE_PYINFRA_VERSION = ">=3.10,<3.11"
preflight.install(state)  # bad settings stop the run before any host is connected
