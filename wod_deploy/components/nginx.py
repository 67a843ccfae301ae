"""nginx from Debian serving the portal's current release (portal.py) on WODFEPORT: compressed,
hashed assets cached for a year and everything else revalidated, security headers on every
answer, the client-side routes through the 404 page, and /api/ passed to the api-db (one origin
for browsers, rate-limited). Debian's default site is removed: a portal host serves the portal."""

from __future__ import annotations

from pyinfra.api import deploy as pyinfra_deploy
from pyinfra.operations import server
from pyinfra.operations.util import any_changed

from .. import managed
from ..managed import File, Gone, Service, render
from ..operations.apt import apt_packages
from ..settings import Settings
from . import portal

SITE = "/etc/nginx/conf.d/wod-portal.conf"
DEFAULT_SITE = "/etc/nginx/sites-enabled/default"


def owned(s: Settings) -> list[managed.Item]:
    return [Gone(DEFAULT_SITE), File(SITE, render("nginx-portal.conf.j2", s, served=portal.SERVED)), Service("nginx")]


@pyinfra_deploy("nginx")
def deploy(settings: Settings):
    apt_packages(name="nginx (Debian's)", packages=["nginx"])
    items = owned(settings)
    ops = managed.deploy(items, "nginx")
    server.shell(name="Reload nginx (its configuration changed, checked first)",
                 commands=["nginx -t -q && systemctl reload nginx"], _if=any_changed(*(ops[i] for i in items[:2])))


def checks(settings: Settings, probe):
    yield from managed.checks("nginx", owned(settings), probe)
