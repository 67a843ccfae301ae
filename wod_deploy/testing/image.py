"""Build the throwaway-host image with no registry: debootstrap base, then a Dockerfile.

Both images are tagged by a hash of what goes into them, so a rebuild only happens
when the recipe, the distro or the host's CA bundle changes.
"""

from __future__ import annotations

import hashlib
import io
import logging
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import docker
from docker.errors import ImageNotFound

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
DOCKERFILE = HERE / "Dockerfile"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DEBIAN_MIRROR = "http://deb.debian.org/debian"

# distro name -> (registry image to try first, debootstrap suite)
DISTROS = {
    "debian-12": ("debian:12", "bookworm"),
    "debian-13": ("debian:13", "trixie"),
}


class ImageError(RuntimeError):
    pass


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:12]


def _has_image(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except ImageNotFound:
        return False


def base_image(client: docker.DockerClient, distro: str) -> str:
    """A plain Debian rootfs image: pulled where a registry answers, else debootstrapped."""
    if distro not in DISTROS:
        raise ImageError(f"distro {distro!r} is not supported; choose one of {sorted(DISTROS)}")
    registry_ref, suite = DISTROS[distro]
    tag = f"wod-base:{distro}-{_digest(suite.encode(), b'minbase')}"
    if _has_image(client, tag):
        return tag
    try:
        client.images.pull(registry_ref).tag(tag)
        log.info("pulled %s as %s", registry_ref, tag)
        return tag
    except Exception as exc:  # no registry here: build it ourselves
        log.info("cannot pull %s (%s); debootstrapping %s", registry_ref, type(exc).__name__, suite)
    if not shutil.which("debootstrap"):
        raise ImageError("no registry and no debootstrap: apt-get install -y debootstrap")
    with tempfile.TemporaryDirectory(prefix="wod-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        subprocess.run(
            ["debootstrap", "--variant=minbase", suite, str(rootfs), DEBIAN_MIRROR],
            check=True, stdout=subprocess.DEVNULL,
        )
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-", tag], stdin=tar.stdout, check=True,
                       stdout=subprocess.DEVNULL)
        if tar.wait() != 0:
            raise ImageError(f"tar of {rootfs} failed")
    return tag


def host_image(client: docker.DockerClient, distro: str = "debian-12") -> str:
    """The test-host image (systemd, sshd, sudo, python3, host CA), built once per recipe."""
    base = base_image(client, distro)
    ca = CA_BUNDLE.read_bytes() if CA_BUNDLE.exists() else b""
    recipe = DOCKERFILE.read_bytes()
    tag = f"wod-host:{distro}-{_digest(base.encode(), recipe, ca)}"
    if _has_image(client, tag):
        return tag
    log.info("building %s", tag)
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in (("Dockerfile", recipe), ("host-ca.crt", ca)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    try:
        client.images.build(fileobj=context, custom_context=True, tag=tag,
                            buildargs={"BASE": base}, rm=True, pull=False)
    except docker.errors.BuildError as exc:
        tail = "".join(chunk.get("stream", "") for chunk in exc.build_log)[-3000:]
        raise ImageError(f"building {tag} failed:\n{tail}") from exc
    return tag
