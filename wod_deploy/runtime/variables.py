"""The variables a workshop's templates get when CREATE renders them for a participant, under
upstream's names; and the ones a workshop reads that nobody set."""

from __future__ import annotations

from pathlib import Path

from . import catalogue, render
from .message import Request


def render_context(cfg: dict, req: Request, password: str) -> dict:
    """What workshop notebooks may use: upstream's variables (the deploy's upstream_vars, the
    workshops' base ports as <NAME>-<WORKSHOP> among them), WORKSHOP_VARS by their upstream names,
    and per-student ports by the bare name (base + N - the workshop's range min)."""
    meta = catalogue.workshop_meta(cfg, req.ws)
    range_min = meta["range"][0] if meta["range"] else cfg["usermin"]
    ctx = {**cfg.get("upstream_vars", {}), **cfg["branding"], **cfg.get("workshop_vars", {})}
    ctx.update(STDID=req.stdid, PASSSTU=password, WORKSHOP=req.ws, CHALLENGE=req.workshop,
               MODEWS=req.workshop.split("-", 1)[0], WODBEEXTFQDN=cfg["fqdn"], WODUSER=cfg["wod_user"],
               BASESTDID=cfg["basestdid"])
    for name, base in cfg["workshop_ports"].get(req.ws, {}).items():
        ctx[name] = base + req.stdid - range_min
    return ctx


def unset_variables(cfg: dict, ws: str, source: Path | None = None) -> dict[str, set[str]]:
    """{file: variables its templates read that nobody set}, for a workshop on this backend (or
    its source directory, on the machine running the deploy)."""
    probe = Request("CREATE", cfg["usermin"], 0, "", ws)
    return render.missing(source or Path(cfg["workshops_dir"]) / ws, set(render_context(cfg, probe, "")))
