"""The system baseline: the packages the components need, plus the opt-in workshop toolchains."""

from pyinfra.api import deploy
from pyinfra.facts.deb import DebPackages

from .compliance import expect
from .operations import apt_packages
from .settings import Settings

# What the backend components themselves run: python venvs, node for the hub proxy, ACLs.
BACKEND_PACKAGES = ("python3", "python3-venv", "python3-dev", "build-essential", "nodejs", "npm",
                    "postfix", "procmail", "fail2ban", "python3-systemd", "ufw", "cron", "systemd-timesyncd")


def packages(settings: Settings, role_packages=BACKEND_PACKAGES) -> list[str]:
    return sorted({*settings.BASE_PACKAGES, *role_packages, *settings.WORKSHOP_PACKAGES})


@deploy("Baseline")
def baseline(settings: Settings, role_packages=BACKEND_PACKAGES):
    apt_packages(name="Install baseline packages", packages=packages(settings, role_packages))


def checks(settings: Settings, probe):
    installed = probe(DebPackages)
    missing = [p for p in packages(settings) if p not in installed]
    yield expect("baseline.packages", "apt packages", "all installed",
                 "all installed" if not missing else "missing: " + " ".join(missing),
)
