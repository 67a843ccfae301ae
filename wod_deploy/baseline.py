"""The system baseline: the packages the components need, plus the opt-in workshop toolchains."""

from pyinfra.api import deploy
from pyinfra.operations import apt

from .settings import Settings

# What the backend components themselves run: python venvs, node for the hub proxy, ACLs.
BACKEND_PACKAGES = ["python3", "python3-venv", "python3-dev", "build-essential", "nodejs", "npm"]


@deploy("Baseline")
def baseline(settings: Settings, role_packages: list[str] = ()):
    apt.packages(
        name="Install baseline packages",
        packages=sorted({*settings.BASE_PACKAGES, *role_packages, *settings.WORKSHOP_PACKAGES}),
        update=True,
        cache_time=3600,
        no_recommends=True,
    )
