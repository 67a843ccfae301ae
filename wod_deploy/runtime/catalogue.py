"""The workshops this backend serves: the index the deploy ships beside them (.wod-index.json,
each wod.yml parsed at deploy time)."""

from __future__ import annotations

import json
from pathlib import Path


def workshop_index(cfg: dict) -> dict:
    """{workshop: {"reset": bool, "range": [min, max] | None}}: each wod.yml, parsed at deploy time."""
    try:
        return json.loads((Path(cfg["workshops_dir"]) / ".wod-index.json").read_text())
    except (OSError, ValueError):
        return {}


def workshop_meta(cfg: dict, ws: str) -> dict:
    return workshop_index(cfg).get(ws, {"reset": False, "range": None})
