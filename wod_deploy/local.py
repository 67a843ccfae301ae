"""The controller's own untracked state: `.wod/` under the project root (caches, test keys)."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    return Path(os.environ.get("WOD_STATE_DIR", Path.cwd() / ".wod"))
