"""The portal: upstream's wod-frontend (WODFEDIR), built for production; nginx.py serves it.

Its `*.j2` files are rendered here as upstream's Ansible renders them, but for one value:
gatsby-node.js runs on this host at build time, so its WODAPIDBEXTURL is the api-db as this host
reaches it (APIDB_UPSTREAM); the files that run in browsers get WODAPIDBEXTURL (by default /api,
the portal's own nginx). Upstream only ever runs `gatsby develop`, which renders a page when a
browser asks for it; a production build renders all of them, and three of upstream's fail: our
patches (wod_deploy/patches/wod-frontend/, each saying why) and LEFT_OUT make it build.

`wodfe` (no shell, no sudo, no password) builds in its own directory, only when the rendered
tree changed; its dependencies only when package.json changed, from the npm registry alone.
Each successful build becomes a release, root's and read-only, and the served link switches
to it in one rename; a failed build fails the converge and leaves the previous site served.

The build also reads the api-db: gatsby-node.js makes a page `/workshop/<id>` per active workshop
the api-db serves. So the build's digest covers, besides the source, the workshop rows the api-db
is seeded with from the catalogue (apidb_data.workshop_rows; a portal without catalogue keys of
its own reads the api-db host's, settings.apidb_catalogue): a workshop added to WODNOBO rebuilds
the portal once, in the converge that seeds it (site.py runs the portal's role after the api-db's,
roles.roles_before). Rows an admin edits through the api-db alone are not seen here: converge
with a source or catalogue change, or rebuild by hand. A build that cannot read the api-db fails
(patch 0004): upstream's would publish a portal without those pages.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pyinfra.api import deploy as pyinfra_deploy
from pyinfra.operations import server

from facts.node import ServedSite

from .. import managed
from ..checks import expect
from ..managed import Directory
from ..operations.apt import apt_packages
from ..operations.files import tree
from ..operations.node import static_site
from ..settings import Settings
from ..sources import application
from . import apidb_data

ROOT = "/opt/wod-portal"
SOURCE, RELEASES, SERVED = f"{ROOT}/source", f"{ROOT}/releases", f"{ROOT}/current"
USER = "wodfe"
HOME = f"/var/lib/{USER}"
WORK = f"{HOME}/build"
PACKAGES = ("nodejs", "npm", "rsync")
PATCHES = sorted((Path(__file__).parent.parent / "patches" / "wod-frontend").glob("*.patch"))
LEFT_OUT = {"src/pages/stickerwall/index.js": "entirely commented out upstream: a page with no component"}
SKIPPED = {".git", "node_modules", ".cache", "public", "ansible"}
BUILD = ["env", "NODE_ENV=production", "GATSBY_TELEMETRY_DISABLED=1", "CI=true", "NO_COLOR=1",
         "node_modules/.bin/gatsby", "build"]


def staged(s: Settings) -> tuple[str, str]:
    """(local tarball, digest) of the portal as it is built: templates rendered, patched."""
    return application("WODFEDIR", s.WODFEDIR, s.WODFEREF, {"WODAPIDBEXTURL": s.WODAPIDBEXTURL}, SKIPPED,
                       per_file={"gatsby-node.js.j2": {"WODAPIDBEXTURL": f"{s.APIDB_UPSTREAM}/api"}},
                       patches=PATCHES, left_out=LEFT_OUT)


def workshops_digest(s: Settings) -> str:
    """The rows the build's pages come from, as the api-db is seeded with them; where a workshop
    runs (its location) and its seats make no page, so they are left out."""
    rows = [{k: v for k, v in row.items() if k not in ("location", "alternateLocation", "capacity")}
            for row in apidb_data.workshop_rows(s)]
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


def build_digest(s: Settings, source_digest: str) -> str:
    """What a build is made from: the source and the workshops it renders pages for."""
    return hashlib.sha256(f"{source_digest} {workshops_digest(s)}".encode()).hexdigest()


def owned(s: Settings) -> list[managed.Item]:
    return [Directory(ROOT), Directory(HOME, user=USER, group=USER, mode=0o750)]


@pyinfra_deploy("Portal")
def deploy(settings: Settings):
    s = settings
    apt_packages(name="Node.js, npm and rsync (Debian's)", packages=list(PACKAGES))
    server.user(name=f"Build account {USER}", user=USER, system=True, home=HOME, shell="/usr/sbin/nologin")
    managed.deploy(owned(s), "portal")
    tarball, digest = staged(s)
    tree(name="Portal source (templates rendered, patched)", local_tar=tarball, digest=digest, dest=SOURCE)
    static_site(name="Production build (as wodfe, when the source or the catalogue's workshops changed), published",
                source=SOURCE, digest=build_digest(s, digest), user=USER, work=WORK, releases=RELEASES, served=SERVED,
                build=BUILD)


def checks(settings: Settings, probe):
    yield from managed.checks("portal", owned(settings), probe)
    digest = build_digest(settings, staged(settings)[1])
    site = probe(ServedSite, served=SERVED, work=WORK)
    yield expect("portal.release", SERVED, f"the build of {digest[:12]}, as published",
                 site and (f"the build of {site['release'][:12]}, " + (
                     "as published" if not site["damaged"] else "changed: " + ", ".join(site["damaged"][:5]))))
