"""JupyterHub in a venv at JPHUB, behind configurable-http-proxy, run by systemd.

Everything under JPHUB belongs to root (the hub runs as root for PAM and to spawn students'
servers, so nothing it executes may be writable by anyone else). The hub database and cookie
secret live in JPHUB/var/jupyterhub and survive re-deploys; the admintk service token is made
on the host, 0600 root, and never leaves it.
"""

from pyinfra.api import deploy
from pyinfra.operations import files, pip, server, systemd
from pyinfra.operations.util import any_changed

from facts.jupyterhub import HubApi, VenvPackages, canonical
from facts.npm import NpmGlobalVersion
from facts.services import ServiceStates

from . import managed
from .compliance import expect, mode
from .managed import Managed, put, render
from .operations import npm_global, secret_file
from .settings import Settings

UNIT = "/etc/systemd/system/jupyterhub.service"

# The hub's own admin scopes, granted to WODUSER and (minus list:users) to the admintk service.
ADMIN_SCOPES = [
    "admin:users", "admin:groups", "admin:servers", "read:roles", "tokens", "list:users",
    "list:services", "read:services", "read:hub", "access:services", "access:servers", "proxy",
    "shutdown",
]


def config_path(settings: Settings) -> str:
    return f"{settings.hub_etc}/jupyterhub_config.py"


def managed_files(settings: Settings) -> list[Managed]:
    """The files this component owns, rendered once for the deploy and the check."""
    extra = {"admin_scopes": ADMIN_SCOPES, "config": config_path(settings)}
    return [Managed(config_path(settings), render("jupyterhub_config.py.j2", settings, **extra)),
            Managed(UNIT, render("jupyterhub.service.j2", settings, **extra))]


def pinned(settings: Settings) -> dict[str, str]:
    """{canonical name: version} of the pinned venv packages."""
    return {canonical(name): version for name, version in
            (p.split("==", 1) for p in (*settings.HUB_PACKAGES, *settings.KERNEL_PACKAGES) if "==" in p)}


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
    config_file, unit_file = managed_files(s)
    config = put(config_file, "jupyterhub_config.py")
    unit = put(unit_file, "jupyterhub.service unit")
    systemd.daemon_reload(name="Reload systemd units", _if=unit.did_change)
    started = systemd.service(name="JupyterHub enabled and running", service="jupyterhub",
                              running=True, enabled=True)
    restarted = systemd.service(
        name="Restart JupyterHub (config, unit or packages changed)",
        service="jupyterhub",
        restarted=True,
        _if=any_changed(venv, packages, proxy, config, unit),
    )
    server.shell(
        name=f"Wait for the hub to answer on port {s.WODBEPORT}",
        commands=[f"for i in $(seq 90); do {HubApi().command(port=s.WODBEPORT)} | grep -q version && exit 0; "
                  f"sleep 1; done; echo 'JupyterHub did not answer: journalctl -u jupyterhub' >&2; exit 1"],
        _if=any_changed(started, restarted),
    )


def checks(settings: Settings, probe):
    s = settings
    installed = probe(VenvPackages, venv=s.JPHUB)
    for name, version in pinned(s).items():
        yield expect("jupyterhub.package", f"{s.JPHUB} pip {name}", version, installed.get(name))
    yield expect("jupyterhub.proxy", "npm configurable-http-proxy", s.CHP_VERSION,
                 probe(NpmGlobalVersion, package="configurable-http-proxy"))

    others = yield from managed.checks("jupyterhub.file", managed_files(s), probe, also=(s.hub_token_file,))
    token = others[s.hub_token_file]
    yield expect("jupyterhub.token", s.hub_token_file, "root:root 0600",
                 token and f"{token['user']}:{token['group']} {mode(token['mode'])}",
                 "converge keeps the token and restores owner and mode; delete the file to rotate it")

    state = probe(ServiceStates, units=["jupyterhub.service"])["jupyterhub.service"]
    yield expect("jupyterhub.service", "jupyterhub.service", "active, enabled",
                 f"{state['active']}, {state['enabled']}")
    api = probe(HubApi, port=s.WODBEPORT)
    yield expect("jupyterhub.api", f"http://127.0.0.1:{s.WODBEPORT}/hub/api", f"version {pinned(s).get('jupyterhub')}",
                 api and f"version {api.get('version')}", "the hub does not answer: journalctl -u jupyterhub")
