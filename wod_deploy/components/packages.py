"""Debian packages: what the backend's components run, BASE_PACKAGES, and the opt-in workshop
toolchains (WORKSHOP_PACKAGES)."""

from pyinfra.api import deploy as pyinfra_deploy

from facts.deb import InstalledPackages

from .. import reads
from ..checks import expect
from ..operations.apt import apt_packages
from ..operations.venv import made_meanwhile
from ..recipes import RECIPES
from ..settings import Settings
from .jupyterhub import pins

# What the backend components themselves run: python venvs, node for the hub proxy (npm comes
# from the npm registry: components/jupyterhub.NPM), ACLs.
BACKEND_PACKAGES = ("python3", "python3-venv", "python3-dev", "build-essential", "nodejs",
                    "postfix", "procmail", "fail2ban", "python3-systemd", "ufw", "cron", "systemd-timesyncd",
                    "openssh-client")  # ssh-keygen: each participant's own key pair at CREATE


def packages(s: Settings) -> list[str]:
    kernels = [p for k in s.KERNELS for p in RECIPES[k].apt]
    return sorted({*s.BASE_PACKAGES, *BACKEND_PACKAGES, *kernels, *s.WORKSHOP_PACKAGES})


@pyinfra_deploy("Packages")
def deploy(settings: Settings):
    reads.together(reads.read(InstalledPackages, packages=packages(settings)))
    # a fresh backend's hub venv is made while dpkg installs the rest: it needs python3-venv only,
    # and dpkg and pip each took half of a first converge (operations/venv.py)
    apt_packages(name="Install the backend's packages", packages=packages(settings), first=("python3-venv",),
                 meanwhile=made_meanwhile(settings.JPHUB, pins(settings)))


def checks(settings: Settings, probe):
    installed = probe(InstalledPackages, packages=packages(settings))
    missing = [p for p in packages(settings) if p not in installed]
    yield expect("packages.installed", "apt packages", "all installed",
                 "all installed" if not missing else "missing: " + " ".join(missing))
