"""Workshop content (notebooks): public WODNOBO plus the private overlay's workshops.

Sources are read on the machine running pyinfra (a git URL is cloned into .wod/cache, so
the backend needs no access to a private repository), merged (a private workshop replaces a
public one of the same name), packed deterministically and shipped as one tarball when its
digest changed. A workshop is a directory with a wod.yml.
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import tarfile
from pathlib import Path

import yaml
from pyinfra.api import DeployError, deploy

from facts.system import TreeDigest

from .compliance import expect
from .operations import tree
from .settings import Settings
from .testing.hosts import state_dir

GIT_RE = re.compile(r"^(https?://|ssh://|git@|file://)|\.git$")
_staged: dict[tuple, tuple[str, str, list[str]]] = {}


def _checkout(url: str, ref: str) -> Path:
    """A shallow clone of `url` at `ref` in the local cache, refreshed on every deploy."""
    cache = state_dir() / "cache" / ("git-" + hashlib.sha1(f"{url}#{ref}".encode()).hexdigest()[:16])
    if (cache / ".git").exists():
        cmds = [["git", "-C", str(cache), "fetch", "-q", "--depth", "1", "origin", ref],
                ["git", "-C", str(cache), "checkout", "-q", "-f", "FETCH_HEAD"]]
    else:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cmds = [["git", "clone", "-q", "--depth", "1", "--branch", ref, url, str(cache)]]
    for cmd in cmds:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise DeployError(f"WODNOBO={url!r} (ref {ref}): {' '.join(cmd[:2])} failed: {proc.stderr.strip()}")
    return cache


def sources(settings: Settings) -> list[Path]:
    """Workshop source directories, lowest precedence first."""
    found = []
    if settings.WODNOBO:
        found.append(_checkout(settings.WODNOBO, settings.WODNOBO_REF) if GIT_RE.search(settings.WODNOBO)
                     else Path(settings.WODNOBO).expanduser().resolve())
    if settings.PRIVATE_DIR and (Path(settings.PRIVATE_DIR) / "workshops").is_dir():
        found.append(Path(settings.PRIVATE_DIR) / "workshops")
    for src in found:
        if not src.is_dir():
            raise DeployError(f"workshop source {src} is not a directory")
    return found


def catalogue(settings: Settings) -> dict[str, Path]:
    """Workshop name -> its directory; later sources win. Every wod.yml must parse."""
    workshops = {}
    for src in sources(settings):
        for meta in sorted(src.glob("*/wod.yml")):
            try:
                yaml.safe_load(meta.read_text())
            except yaml.YAMLError as exc:
                raise DeployError(f"{meta}: not valid YAML: {exc}") from None
            workshops[meta.parent.name] = meta.parent
    return workshops


def pack(workshops: dict[str, Path]) -> bytes:
    """A tar of the merged workshops, the same bytes for the same content (no times, no owners)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(workshops):
            root = workshops[name]
            for path in [root, *sorted(root.rglob("*"))]:
                rel = Path(name) / path.relative_to(root)
                if ".git" in rel.parts or ".ipynb_checkpoints" in rel.parts or path.is_symlink():
                    continue
                info = tar.gettarinfo(str(path), arcname=str(rel))
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "root", "root"
                info.mode = 0o755 if path.is_dir() or info.mode & 0o111 else 0o644
                tar.addfile(info, path.open("rb") if path.is_file() else None)
    return out.getvalue()


def staged(settings: Settings) -> tuple[str, str, list[str]]:
    """(local tarball, digest, workshop names), built once per run for the same sources."""
    key = (settings.WODNOBO, settings.WODNOBO_REF, settings.PRIVATE_DIR)
    if key not in _staged:
        workshops = catalogue(settings)
        data = pack(workshops)
        digest = hashlib.sha256(data).hexdigest()
        path = state_dir() / "cache" / f"workshops-{digest[:16]}.tar"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        _staged[key] = (str(path), digest, sorted(workshops))
    return _staged[key]


@deploy("Workshops")
def workshops(settings: Settings):
    tarball, digest, names = staged(settings)
    tree(name=f"Workshops ({len(names)}: {', '.join(names)[:80]})", local_tar=tarball, digest=digest,
         dest=settings.workshops_dir)


def checks(settings: Settings, probe):
    _, digest, names = staged(settings)
    found = probe(TreeDigest, dest=settings.workshops_dir)
    yield expect("workshops.content", settings.workshops_dir, f"digest {digest[:12]} ({' '.join(names)})",
                 found and f"digest {found[:12]}" + (f" ({' '.join(names)})" if found == digest else ""),
                 "converge ships the workshops again")
