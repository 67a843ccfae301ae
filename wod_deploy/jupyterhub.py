"""JupyterHub in a venv at JPHUB, behind configurable-http-proxy, run by systemd.

Everything under JPHUB belongs to root (the hub runs as root for PAM and to spawn students'
servers, so nothing it executes may be writable by anyone else). The hub database and cookie
secret live in JPHUB/var/jupyterhub and survive re-deploys; the admintk service token is made
on the host, 0600 root, and never leaves it.
"""

from pathlib import Path

from pyinfra.api import deploy
from pyinfra.operations import files, pip, systemd
from pyinfra.operations.util import any_changed

from .operations import npm_global, secret_file
from .settings import Settings

TEMPLATES = Path(__file__).parent / "templates"
UNIT = "/etc/systemd/system/jupyterhub.service"

# The hub's own admin scopes, granted to WODUSER and (minus list:users) to the admintk service.
ADMIN_SCOPES = [
    "admin:users", "admin:groups", "admin:servers", "read:roles", "tokens", "list:users",
    "list:services", "read:services", "read:hub", "access:services", "access:servers", "proxy",
    "shutdown",
]


def config_path(settings: Settings) -> str:
    return f"{settings.hub_etc}/jupyterhub_config.py"


@deploy("JupyterHub")
def jupyterhub(settings: Settings):
    s = settings
    files.directory(name="JupyterHub prefix", path=s.JPHUB, user="root", group="root", mode="0755")
    venv = pip.venv(name="JupyterHub venv", path=s.JPHUB, python="python3")
    packages = pip.packages(
        name="JupyterHub, JupyterLab and kernel packages (pinned)",
        packages=[*s.HUB_PACKAGES, *s.KERNEL_PACKAGES],
        virtualenv=s.JPHUB,
    )
    proxy = npm_global(name="configurable-http-proxy", package="configurable-http-proxy", version=s.CHP_VERSION)
    files.directory(name="Hub config directory", path=s.hub_etc, user="root", group="root", mode="0755")
    files.directory(name="Hub state directory (database, cookie secret)", path=s.hub_state,
                    user="root", group="root", mode="0700")
    secret_file(name="admintk service token (generated on the host)", path=s.hub_token_file)
    config = files.template(
        name="jupyterhub_config.py",
        src=str(TEMPLATES / "jupyterhub_config.py.j2"),
        dest=config_path(s),
        user="root", group="root", mode="0644",
        s=s, admin_scopes=ADMIN_SCOPES,
    )
    unit = files.template(
        name="jupyterhub.service unit",
        src=str(TEMPLATES / "jupyterhub.service.j2"),
        dest=UNIT,
        user="root", group="root", mode="0644",
        s=s, config=config_path(s),
    )
    systemd.daemon_reload(name="Reload systemd units", _if=unit.did_change)
    systemd.service(name="JupyterHub enabled and running", service="jupyterhub", running=True, enabled=True)
    systemd.service(
        name="Restart JupyterHub (config, unit or packages changed)",
        service="jupyterhub",
        restarted=True,
        _if=any_changed(venv, packages, proxy, config, unit),
    )
