"""JupyterHub in a venv at JPHUB, behind configurable-http-proxy, run by systemd.

Everything under JPHUB belongs to root (the hub runs as root for PAM and to spawn students'
servers, so nothing it executes may be writable by anyone else). The hub database and cookie
secret live in JPHUB/var/jupyterhub and survive re-deploys; every change of the venv's packages
backs the database up, and the unit upgrades its schema before each start (runtime/hubdb.py). The
admintk service token is made on the host, 0600 root, and never leaves it.

A backend upstream's Ansible installed is adopted in place: its venv (made by WODUSER) is given
to root, its database and cookie secret are moved from the venv's lib/ to ours, then upgraded
at the hub's first start; the users in it stay, upstream's shared WODBETOKEN stops working.
"""

from pathlib import Path

from pyinfra.api import deploy as pyinfra_deploy
from pyinfra.operations import server, systemd
from pyinfra.operations.util import any_changed

from facts.jupyterhub import HubApi, VenvPackages, canonical
from facts.npm import NpmGlobalVersion, PackageVersion
from facts.system import SysctlValues

from .. import managed, reads
from ..checks import expect
from ..managed import Directory, File, Key, Moved, Secret, Service, render
from ..operations.npm import npm_cli, npm_global
from ..operations.venv import venv
from ..recipes import RECIPES
from ..runtime import naming
from ..settings import Settings
from .system import runtime_module

UNIT = "/etc/systemd/system/jupyterhub.service"
UNPRIVILEGED = "net.ipv4.ip_unprivileged_port_start"
BACKUPS = "/var/backups/jupyterhub"  # a copy of the hub database before each upgrade
# npm for the proxy alone, from the npm registry: Debian's npm is 351 more packages (28 s of a
# first converge here). The registry's dist.integrity of npm 10.9.9, in hex (runs on Node >= 18.17).
NPM = ("10.9.9", "d60fba8cb42f688b81e33c2f1cbef2ad7b977166700ec0ad057f1b6d60ea6ef2"
                 "524abf673e20c35931cd8305d1dbb8887134d6eefdc0e7b8435bd458bf65b862")

# What the mail handler does with the hub: add and delete users (their tokens and sessions go
# with them), start and stop their servers. Nothing else: not minting tokens, not entering servers.
HANDLER_SCOPES = ["admin:users", "admin:servers", "list:users"]

# The hub's own admin scopes, for the human admin WODUSER.
ADMIN_SCOPES = [
    "admin:users", "admin:groups", "admin:servers", "read:roles", "tokens", "list:users",
    "list:services", "read:services", "read:hub", "access:services", "access:servers", "proxy",
    "shutdown",
]


def config_path(s: Settings) -> str:
    return f"{s.hub_etc}/jupyterhub_config.py"


def hub_files(s: Settings) -> list[File]:
    """The hub's config, its unit and what the config imports: a change to any restarts the hub."""
    extra = {"admin_scopes": ADMIN_SCOPES, "handler_scopes": HANDLER_SCOPES, "config": config_path(s),
             "student_name": naming.student_name(""), "peers_sha1": runtime_module(s, "peers.py").want()["sha1"]}
    return [File(config_path(s), render("jupyterhub_config.py.j2", s, **extra, **tls_paths(s))),
            File(UNIT, render("jupyterhub.service.j2", s, **extra)),
            *tls(s)]


def tls_paths(s: Settings) -> dict[str, str]:
    return {"tls_cert": f"{s.hub_etc}/hub.crt", "tls_key": f"{s.hub_etc}/hub.key"}


def tls(s: Settings) -> list[managed.Item]:
    """The certificate and key the proxy serves, when HUB_TLS_CERT and HUB_TLS_KEY name them."""
    if not s.HUB_TLS_CERT:
        return []
    paths = tls_paths(s)
    return [File(paths["tls_cert"], Path(s.HUB_TLS_CERT).read_text()),
            Key(paths["tls_key"], Path(s.HUB_TLS_KEY).read_text())]


def npm_home(s: Settings) -> str:
    return f"{s.lib_dir}/npm"


def database(s: Settings) -> str:
    return f"{s.hub_state}/jupyterhub.sqlite"


def hubdb(s: Settings) -> str:
    """The database helper (shipped with the runtime): backup (deploy); tokens revoked, schema
    upgraded (unit, before start)."""
    return runtime_module(s, "hubdb.py").path


def adopted(s: Settings) -> list[managed.Item]:
    """Upstream's layout, made ours before anything runs from the venv: the venv given to root,
    the database and cookie secret moved out of its lib/ (the hub stopped first)."""
    return [Directory(s.JPHUB, tree=True),
            *(Moved(f"{s.JPHUB}/lib/{name}", f"{s.hub_state}/{name}", before="systemctl stop jupyterhub || true")
              for name in ("jupyterhub.sqlite", "jupyterhub_cookie_secret"))]


def port_translation(s: Settings) -> list[managed.Item]:
    """WODBEPORT translated to the proxy's privileged port (Settings.proxy_port), by a unit that
    starts before the hub; nothing when WODBEPORT is privileged itself."""
    if s.proxy_port == s.WODBEPORT:
        return []
    return [File(f"{s.lib_dir}/{s.redirect_unit}", render("wod-hub-port.j2", s), mode=0o755),
            File(f"/etc/systemd/system/{s.redirect_unit}.service", render("wod-hub-port.service.j2", s)),
            Service(s.redirect_unit)]


def token(s: Settings) -> Secret:
    """The admintk token, read by the hub at start: a new one (file deleted) restarts the hub."""
    return Secret(s.hub_token_file)


def owned(s: Settings) -> list[managed.Item]:
    """What this component owns, rendered once for the deploy and the check (the venv aside)."""
    return [
        Directory(s.hub_etc),
        Directory(s.hub_state, mode=0o700),  # the database and cookie secret
        token(s),
        *hub_files(s),
        File(f"{s.lib_dir}/wod-singleuser", render("wod-singleuser.j2", s), mode=0o755),  # read at each spawn
        *port_translation(s),
        Service("jupyterhub"),
    ]


def pins(s: Settings) -> list[str]:
    """The venv's packages, exact pins (name==version) only: the hub's, those of the kernels' recipes
    (KERNELS), and KERNEL_PACKAGES, whose pin of a recipe's package replaces the recipe's."""
    mine = {canonical(p.split("==")[0]): p for p in s.KERNEL_PACKAGES}
    kernels = [p for k in s.KERNELS for p in RECIPES[k].pip if canonical(p.split("==")[0]) not in mine]
    return [*s.HUB_PACKAGES, *dict.fromkeys(kernels), *mine.values()]


# Installed by jsonschema's format extra (jupyter_events) for IRI checks the hub never needs: it
# builds a grammar at import, 1.8 s of CPU in each participant's server start (of 3.6 s), which
# a room starting at once pays twenty times over (docs/benchmarks.md).
UNWANTED = ("rfc3987-syntax",)


def pinned(s: Settings) -> dict[str, str]:
    """{canonical name: version} of the pinned venv packages."""
    return {canonical(name): version for name, version in (p.split("==", 1) for p in pins(s))}


@pyinfra_deploy("JupyterHub")
def deploy(settings: Settings):
    s = settings
    first, mine = adopted(s), owned(s)  # rendered once; one read of their state for the three calls below
    items = [*first, *mine]
    reads.together(managed.state_read(items), reads.read(VenvPackages, venv=s.JPHUB),
                   reads.read(PackageVersion, path=f"{npm_home(s)}/package.json"),
                   reads.read(NpmGlobalVersion, package="configurable-http-proxy"))
    adoption = managed.deploy(first, "JupyterHub", read=items)
    packages = venv(name="JupyterHub venv: JupyterHub, JupyterLab and kernel packages (pinned)",
                    path=s.JPHUB, pins=pins(s), unwanted=UNWANTED)
    moved = [op for item, op in adoption.items() if isinstance(item, Moved)]
    # the schema itself is upgraded by the unit, before the hub starts on the new code
    server.shell(name="Back up the hub database (the venv's packages changed)",
                 commands=[f"{s.JPHUB}/bin/python3 -I {hubdb(s)} backup {database(s)} {BACKUPS}"],
                 _if=packages.did_change)
    npm_cli(name=f"npm {NPM[0]} (checked against the registry's sha512)", version=NPM[0], sha512=NPM[1],
            dest=npm_home(s))
    proxy = npm_global(name="configurable-http-proxy", package="configurable-http-proxy", version=s.CHP_VERSION,
                       npm=f"node {npm_home(s)}/bin/npm-cli.js --prefix /usr/local")
    ops = managed.deploy([i for i in mine if not isinstance(i, Service)], "JupyterHub", read=items)
    unit = next(f for f in hub_files(s) if f.path == UNIT)
    translation = [ops[i] for i in port_translation(s) if isinstance(i, File)]
    systemd.daemon_reload(name="Reload systemd units", _if=any_changed(ops[unit], *translation))
    if translation:
        systemd.service(name=f"Restart {s.redirect_unit} (its rules changed)", service=s.redirect_unit,
                        restarted=True, _if=any_changed(*translation))
    *_, started = managed.deploy([i for i in mine if isinstance(i, Service)], "JupyterHub", read=items).values()
    restarted = systemd.service(name="Restart JupyterHub (its files, token or packages changed)",
                                service="jupyterhub", restarted=True,
                                _if=any_changed(packages, *moved, proxy, *(ops[f] for f in hub_files(s)),
                                                ops[token(s)]))
    server.shell(
        name=f"Wait for the hub to answer on port {s.WODBEPORT}",
        commands=[f"for i in $(seq 90); do {HubApi().command(port=s.WODBEPORT, scheme=s.hub_scheme)} "
                  "| grep -q version && exit 0; "
                  f"sleep 1; done; echo 'JupyterHub did not answer: journalctl -u jupyterhub' >&2; exit 1"],
        _if=any_changed(started, restarted),
    )


def checks(settings: Settings, probe):
    s = settings
    installed = probe(VenvPackages, venv=s.JPHUB)
    for name, version in pinned(s).items():
        yield expect("jupyterhub.package", f"{s.JPHUB} pip {name}", version, installed.get(name))
    for name in UNWANTED:
        yield expect("jupyterhub.package", f"{s.JPHUB} pip {name}", "absent", installed.get(name, "absent"))
    yield expect("jupyterhub.npm", npm_home(s), f"npm {NPM[0]}",
                 (found := probe(PackageVersion, path=f"{npm_home(s)}/package.json")) and f"npm {found}")
    yield expect("jupyterhub.proxy", "npm configurable-http-proxy", s.CHP_VERSION,
                 probe(NpmGlobalVersion, package="configurable-http-proxy"))
    yield from managed.checks("jupyterhub", [*adopted(s), *owned(s)], probe)
    # the network namespace's own value (a container's too): the hub's ports are safe only while it holds
    start = probe(SysctlValues, keys=[UNPRIVILEGED]).get(UNPRIVILEGED)
    ports = sorted({s.hub_api_port, s.proxy_api_port, s.proxy_port})
    yield expect("jupyterhub.ports", f"ports {' '.join(map(str, ports))}", "root's alone",
                 "root's alone" if start and int(start) > ports[-1] else f"anyone's ({UNPRIVILEGED} = {start})",
                 "the system component sets 1024; in a container: docker run --sysctl "
                 f"{UNPRIVILEGED}=1024 (Docker's default is 0)")
    api = probe(HubApi, port=s.WODBEPORT, scheme=s.hub_scheme)
    yield expect("jupyterhub.api", f"{s.hub_scheme}://127.0.0.1:{s.WODBEPORT}/hub/api",
                 f"version {pinned(s).get('jupyterhub')}",
                 api and f"version {api.get('version')}", "the hub does not answer: journalctl -u jupyterhub")
