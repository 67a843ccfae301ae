"""What roles ship from the deploying machine: a git URL (cloned there, shallow, refreshed on every
deploy) or a local directory; an application as one tarball with its templates rendered."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import jinja2
from pyinfra.api import DeployError

from .local import state_dir

GIT_RE = re.compile(r"^(https?://|ssh://|git@|file://)|\.git$")


def checkout(key: str, where: str, ref: str) -> Path:
    """The directory `where` names (the setting `key`): a shallow clone of a git URL at `ref` in the
    local cache, or the local directory itself."""
    if not GIT_RE.search(where):
        path = Path(where).expanduser().resolve()
        if not path.is_dir():
            raise DeployError(f"{key}={where!r}: not a directory nor a git URL")
        return path
    cache = state_dir() / "cache" / ("git-" + hashlib.sha1(f"{where}#{ref}".encode()).hexdigest()[:16])
    if (cache / ".git").exists():
        cmds = [["git", "-C", str(cache), "fetch", "-q", "--depth", "1", "origin", ref],
                ["git", "-C", str(cache), "checkout", "-q", "-f", "FETCH_HEAD"]]
    else:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cmds = [["git", "clone", "-q", "--depth", "1", "--branch", ref, where, str(cache)]]
    for cmd in cmds:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise DeployError(f"{key}={where!r} (ref {ref}): {' '.join(cmd[:2])} failed: {proc.stderr.strip()}")
    return cache


_rendered: dict[str, tuple[str, str]] = {}


def application(key: str, where: str, ref: str, variables: dict, skipped: set[str],
                per_file: dict[str, dict] | None = None, patches: list[Path] = (),
                left_out: dict[str, str] | None = None) -> tuple[str, str]:
    """(local tarball, sha256) of the application the setting `key` names, as a host receives it.

    Its `*.j2` files rendered as Ansible renders them (Jinja2 with `variables`, updated by
    `per_file[path]` for that file), our `patches` applied (git apply; one already in upstream
    is skipped, one that fits neither way is an error naming it), the `left_out` files ({path:
    why}) and any path under a `skipped` name left out. Built once per run and settings."""
    cache_key = json.dumps([key, where, ref, variables, sorted(skipped), per_file or {},
                            [p.read_text() for p in patches], left_out or {}], sort_keys=True, default=str)
    if cache_key in _rendered:
        return _rendered[cache_key]
    src = checkout(key, where, ref)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    with tempfile.TemporaryDirectory(prefix="wod-app-") as tmp:
        tree = Path(tmp) / "tree"
        shutil.copytree(src, tree, symlinks=True, ignore=lambda _d, names: [n for n in names if n in skipped])
        for path in [tree, *tree.rglob("*")]:  # a read-only source (a pinned snapshot) stays editable here
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)
        for path in sorted(tree.rglob("*.j2")):
            rel = str(path.relative_to(tree))
            values = {**variables, **(per_file or {}).get(rel, {})}
            path.with_suffix("").write_text(env.from_string(path.read_text()).render(values))
            path.unlink()
        for patch in patches:
            _apply(key, tree, patch)
        for rel in left_out or {}:
            (tree / rel).unlink(missing_ok=True)
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(tree.rglob("*")):
                if path.is_symlink() or path.is_dir():
                    continue
                info = tarfile.TarInfo(str(path.relative_to(tree)))
                data = path.read_bytes()
                info.size, info.mode, info.mtime = len(data), 0o755 if path.stat().st_mode & 0o111 else 0o644, 0
                tar.addfile(info, io.BytesIO(data))
    data = out.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    local = state_dir() / "cache" / f"{key.lower()}-{digest[:16]}.tar"
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(data)
    _rendered[cache_key] = (str(local), digest)
    return _rendered[cache_key]


def _apply(key: str, tree: Path, patch: Path) -> None:
    def git_apply(*args: str) -> bool:
        return subprocess.run(["git", "apply", *args, str(patch)], cwd=tree, capture_output=True).returncode == 0

    if git_apply("--check"):
        git_apply()
    elif not git_apply("--check", "--reverse"):  # neither before nor after: upstream moved under it
        raise DeployError(f"{key}: our patch {patch.name} fits neither this source nor a source that has it; "
                          f"compare it with the application's current code")
