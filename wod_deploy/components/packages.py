"""Debian packages: on every role BASE_PACKAGES and what the shared baseline runs (fail2ban, ufw,
cron, time sync); on a backend also what its own components run and the opt-in workshop
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

# What the shared baseline runs on every role (system.py, fail2ban.py, firewall.py); python3-systemd:
# fail2ban's journal backend.
BASELINE_PACKAGES = ("fail2ban", "python3-systemd", "ufw", "cron", "systemd-timesyncd")
# What the backend components themselves run: python venvs, node for the hub proxy (npm comes
# from the npm registry: components/jupyterhub.NPM), ACLs.
BACKEND_PACKAGES = ("python3", "python3-venv", "python3-dev", "build-essential", "nodejs",
                    "postfix", "procmail", "openssh-client")  # ssh-keygen: each participant's own key pair at CREATE


def packages(s: Settings, groups=("backend",)) -> list[str]:
    found = {*s.BASE_PACKAGES, *BASELINE_PACKAGES}
    if "backend" in groups:
        found |= {*BACKEND_PACKAGES, *(p for k in s.KERNELS for p in RECIPES[k].apt), *s.WORKSHOP_PACKAGES}
    return sorted(found)


@pyinfra_deploy("Packages")
def deploy(settings: Settings):
    from pyinfra import host  # the host being deployed: its groups say what it runs

    wanted = packages(settings, host.groups)
    reads.together(reads.read(InstalledPackages, packages=wanted))
    if "backend" not in host.groups:
        apt_packages(name="Install the baseline packages", packages=wanted)
        return
    # a fresh backend's hub venv is made while dpkg installs the rest: it needs python3-venv only,
    # and dpkg and pip each took half of a first converge (operations/venv.py)
    apt_packages(name="Install the backend's packages", packages=wanted, first=("python3-venv",),
                 meanwhile=made_meanwhile(settings.JPHUB, pins(settings)))


def checks(settings: Settings, probe):
    wanted = packages(settings, probe.host.groups)
    installed = probe(InstalledPackages, packages=wanted)
    missing = [p for p in wanted if p not in installed]
    yield expect("packages.installed", "apt packages", "all installed",
                 "all installed" if not missing else "missing: " + " ".join(missing))
