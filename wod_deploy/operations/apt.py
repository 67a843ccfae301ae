"""Debian packages (facts/deb.InstalledPackages)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation

from facts.deb import InstalledPackages

from .. import reads
from ..shell import sh


@operation()
def apt_packages(packages: list[str], first: tuple[str, ...] = (), meanwhile: str = ""):
    """Install missing Debian packages; refresh the index only when something is missing.

    pyinfra's apt.packages(update=True) refreshes whenever its cache is stale, which a
    drift check would then report as a pending change on a compliant host.

    `meanwhile`: a shell command run in the background of the install, once the packages of
    `first` (what it needs) are installed; the operation ends when both have.
    """
    installed = reads.fact(InstalledPackages, packages=packages)
    missing = [p for p in packages if p not in installed]
    if not missing:
        host.noop(f"{len(packages)} packages are installed")
        return
    # a run killed during dpkg leaves it half-done (and maybe still holding its lock): finish and wait
    yield ("for i in $(seq 300); do DEBIAN_FRONTEND=noninteractive dpkg --configure -a 2>/dev/null && break; "
           "sleep 1; done")
    yield "apt-get update -qq -o DPkg::Lock::Timeout=300"
    if not meanwhile:
        yield _install(missing)
        return
    now = [p for p in missing if p in first]
    rest = [p for p in missing if p not in first]
    if now:
        yield _install(now)
    if rest:
        yield f"{{ {meanwhile}; }} & {_install(rest)}; installed=$?; wait; exit $installed"


def _install(packages: list[str]) -> str:
    return sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
              "-o DPkg::Lock::Timeout=300 %s", packages)
