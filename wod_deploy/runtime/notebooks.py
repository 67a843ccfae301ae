"""How far a participant got: the share of executed code cells in the workshop's notebooks, read
as root from files the participant wrote (so nothing in them is trusted: each read is bounded in
size and depth, and a file that is not a notebook counts as no cells)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

MAX_NOTEBOOK = 16 * 1024 * 1024


def read_notebook(path: Path) -> dict | None:
    """A notebook the participant wrote, read as root without trusting it: no symlink followed,
    no FIFO or device opened for reading (O_NONBLOCK, then a regular-file check), size-bounded,
    and nested no deeper than the parser's recursion limit (deeper raises RecursionError)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_NOTEBOOK:
            return None
        try:
            data = json.loads(f.read(MAX_NOTEBOOK + 1))
        except (ValueError, RecursionError, MemoryError):
            return None
    return data if isinstance(data, dict) else None


def completion(notebook_dir: Path) -> int:
    """Share (0..100) of the code cells that were executed, over the workshop's notebooks."""
    total = done = 0
    if notebook_dir.is_symlink() or not notebook_dir.is_dir():
        return 0
    for nb in sorted(notebook_dir.glob("*.ipynb")):
        cells = (read_notebook(nb) or {}).get("cells", [])
        for cell in cells if isinstance(cells, list) else []:
            if not isinstance(cell, dict):
                continue
            if cell.get("cell_type") == "code":
                total += 1
                done += cell.get("execution_count") is not None
    return round(100 * done / total) if total else 0
