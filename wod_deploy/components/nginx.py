"""nginx from Debian serving the portal's current release (portal.py) on WODFEPORT: compressed,
hashed assets cached for a year and everything else revalidated, security headers on every
answer, the client-side routes through the 404 page, and /api/ passed to the api-db (one origin
for browsers, rate-limited). Debian's default site is removed: a portal host serves the portal.

With WODFE_TLS_CERT and WODFE_TLS_KEY (files on the deploying machine) WODFEPORT speaks TLS 1.2
and 1.3 only, with HSTS, and a plain-HTTP request to that port is redirected to HTTPS; the key is
written by secret_put (root 0600, never shown). Without them the port stays plain HTTP and no
pair is left on the host."""

from __future__ import annotations

from pathlib import Path

from pyinfra.api import deploy as pyinfra_deploy
from pyinfra.operations import server
from pyinfra.operations.util import any_changed

from .. import managed
from ..managed import File, Gone, Key, Service, render
from ..operations.apt import apt_packages
from ..settings import Settings
from . import portal

SITE = "/etc/nginx/conf.d/wod-portal.conf"
DEFAULT_SITE = "/etc/nginx/sites-enabled/default"
TLS_CERT, TLS_KEY = "/etc/nginx/wod-portal.crt", "/etc/nginx/wod-portal.key"


def tls(s: Settings) -> list[managed.Item]:
    """The pair nginx serves when WODFE_TLS_CERT and WODFE_TLS_KEY name one; none left otherwise
    (a key no configuration reads is only something to leak)."""
    if not s.WODFE_TLS_CERT:
        return [Gone(TLS_CERT), Gone(TLS_KEY)]
    return [File(TLS_CERT, Path(s.WODFE_TLS_CERT).read_text()), Key(TLS_KEY, Path(s.WODFE_TLS_KEY).read_text())]


def owned(s: Settings) -> list[managed.Item]:
    # the pair before the site that names it: nginx -t reads both
    return [Gone(DEFAULT_SITE), *tls(s),
            File(SITE, render("nginx-portal.conf.j2", s, served=portal.SERVED, tls_cert=TLS_CERT, tls_key=TLS_KEY)),
            Service("nginx")]


@pyinfra_deploy("nginx")
def deploy(settings: Settings):
    apt_packages(name="nginx (Debian's)", packages=["nginx"])
    items = owned(settings)
    ops = managed.deploy(items, "nginx")
    files = [ops[i] for i in items if not isinstance(i, Service)]
    server.shell(name="Reload nginx (its configuration or TLS pair changed, checked first)",
                 commands=["nginx -t -q && systemctl reload nginx"], _if=any_changed(*files))


def checks(settings: Settings, probe):
    yield from managed.checks("nginx", owned(settings), probe)
