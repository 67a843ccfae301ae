"""The workshops this backend serves: the index the deploy ships beside them (.wod-index.json,
each wod.yml parsed at deploy time)."""

from __future__ import annotations

import json
from pathlib import Path


def workshop_index(cfg: dict) -> dict:
    """{workshop: {"reset": bool, "range": [min, max] | None, "kernels": [name]}}: each wod.yml and the
    kernels its notebooks name, read at deploy time."""
    try:
        return json.loads((Path(cfg["workshops_dir"]) / ".wod-index.json").read_text())
    except (OSError, ValueError):
        return {}


def workshop_meta(cfg: dict, ws: str) -> dict:
    return workshop_index(cfg).get(ws, {"reset": False, "range": None, "kernels": []})


def unregistered_kernels(cfg: dict, ws: str) -> list[str]:
    """The kernels a workshop's notebooks name that this backend does not register (KERNELS): its
    participant could not run a cell. A config from before KERNELS existed refuses nothing."""
    if "kernels" not in cfg:
        return []
    return sorted(set(workshop_meta(cfg, ws).get("kernels", [])) - set(cfg["kernels"]))


def kernels_refused(ws: str, missing: list[str]) -> str:
    """Why such a workshop is refused, in the words of the deploy's warning, `check` and CREATE."""
    return (f"workshop {ws} needs the kernel{'s' * (len(missing) > 1)} {', '.join(missing)}, which this backend "
            "does not register (KERNELS)")
