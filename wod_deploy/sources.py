"""What roles ship from the deploying machine: a git URL (cloned there, shallow, refreshed on every
deploy) or a local directory."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

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
