"""Workshop content (notebooks): public WODNOBO plus the private overlay's workshops.

Sources are read on the machine running pyinfra (a git URL is cloned into .wod/cache, so
the backend needs no access to a private repository), merged (a private workshop replaces a
public one of the same name), packed deterministically and shipped as one tarball when its
digest changed. A workshop is a directory with a wod.yml, parsed here once: what the backend
needs of it (reset, range) travels in the tarball as INDEX, read by the mail-API handler.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
import tarfile
from dataclasses import fields
from pathlib import Path

import yaml
from pyinfra import logger
from pyinfra.api import DeployError
from pyinfra.api import deploy as pyinfra_deploy

from facts.files import TreeDigest

from .. import managed, reads
from ..checks import expect
from ..local import state_dir
from ..managed import Directory
from ..operations.files import tree
from ..runtime import render, variables
from ..settings import Settings
from ..sources import checkout
from .mailapi import handler_config

INDEX = ".wod-index.json"  # at the root of the shipped tree
HOOKS = ".hooks"  # .hooks/public/create-WKSHP-X.sh, .hooks/private/..., beside the workshops
HOOK_RE = re.compile(r"^(create|post-copy|cleanup|reset)-(WKSHP|CHLG)-[A-Za-z0-9][A-Za-z0-9_.-]*\.sh(\.j2)?$")
_staged: dict[tuple, tuple[str, str, list[str]]] = {}


def sources(settings: Settings) -> list[Path]:
    """Workshop source directories, lowest precedence first."""
    found = []
    if settings.WODNOBO:
        found.append(checkout("WODNOBO", settings.WODNOBO, settings.WODNOBO_REF))
    if settings.PRIVATE_DIR and (Path(settings.PRIVATE_DIR) / "workshops").is_dir():
        found.append(Path(settings.PRIVATE_DIR) / "workshops")
    for src in found:
        if not src.is_dir():
            raise DeployError(f"workshop source {src} is not a directory")
    return found


def catalogue(settings: Settings) -> dict[str, Path]:
    """Workshop name -> its directory; later sources win. Every wod.yml must parse."""
    return {name: path for name, (path, _) in _read(settings).items()}


def _read(settings: Settings) -> dict[str, tuple[Path, dict]]:
    workshops = {}
    for src in sources(settings):
        for path in sorted(src.glob("*/wod.yml")):
            meta = read_meta(path)
            if meta is not None:
                workshops[path.parent.name] = (path.parent, meta)
    return workshops


# A tab after "key:", alone or among spaces (upstream's WKSHP-RUST101 has " \t"), is refused by
# PyYAML but read by YAML::Tiny, upstream's seeder.
TAB_AFTER_KEY = re.compile(r"^( *[^\s#:][^:]*:)[ \t]*\t[ \t]*", re.M)


def read_meta(path: Path) -> dict | None:
    """A wod.yml as upstream reads it; None (and a warning naming the file and line) when nothing
    can read it, so one odd workshop never stops the others. Parsed once per version of the file:
    every backend of a run reads the same ones (and warns once, not once per host)."""
    found = path.stat()
    return _parsed(str(path), found.st_mtime_ns, found.st_size)


@functools.cache
def _parsed(name: str, mtime_ns: int, size: int) -> dict | None:
    path = Path(name)
    text = path.read_text(errors="replace")
    for attempt in (text, TAB_AFTER_KEY.sub(r"\1 ", text)):
        try:
            data = yaml.safe_load(attempt)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = f"{path}:{mark.line + 1 if mark else '?'}: {getattr(exc, 'problem', None) or exc}"
            continue
        if isinstance(data, dict):
            return data
        problem = f"{path}:1: not a mapping of keys to values"
    logger.warning(f"workshop skipped: {problem}")
    return None


def index_entry(meta: dict, kernels: list[str] | tuple = ()) -> dict:
    """What the backend needs of a workshop: does it reset, its student range ([min, max] or None),
    the kernels its notebooks name (CREATE refuses one that needs a kernel not registered), and
    whether its participants share one appliance or get one each (the hooks' WODRTARGET)."""
    rng = meta.get("range")
    valid = isinstance(rng, list) and len(rng) == 2 and all(isinstance(n, int) for n in rng)
    appliance = "multi" if meta.get("multiappliance") is True else "mono" if meta.get("monoappliance") is True else None
    return {"reset": meta.get("reset") is True, "range": rng if valid else None, "kernels": sorted(kernels),
            "appliance": appliance}


# a notebook is a template before CREATE renders it: when `{% ... %}` makes its text invalid JSON,
# its kernelspec is still found in the text
KERNELSPEC_RE = re.compile(r'"kernelspec"\s*:\s*\{[^{}]*?"name"\s*:\s*"([^"]+)"')


def kernelspec_name(text: str) -> str | None:
    """The kernel a notebook names (metadata.kernelspec.name), None when it names none."""
    try:
        data = json.loads(text)
    except ValueError:
        found = KERNELSPEC_RE.search(text)
        return found.group(1) if found else None
    spec = data.get("metadata", {}).get("kernelspec") if isinstance(data, dict) else None
    name = spec.get("name") if isinstance(spec, dict) else None
    return name if isinstance(name, str) and name else None


def notebook_kernels(root: Path) -> list[str]:
    """The kernels the notebooks of one workshop directory name (checkpoints aside)."""
    names = {kernelspec_name(path.read_text(errors="replace")) for path in sorted(root.rglob("*.ipynb"))
             if ".ipynb_checkpoints" not in path.parts and path.is_file()}
    return sorted(names - {None})


def kernels_needed(settings: Settings) -> dict[str, list[str]]:
    """{workshop: the kernels its notebooks name}, for the catalogue this backend is shipped."""
    return {name: notebook_kernels(path) for name, path in catalogue(settings).items()}


def hooks(settings: Settings) -> dict[str, bytes]:
    """Upstream's per-workshop scripts, public (HOOKS_DIR) then private (PRIVATE_DIR/scripts):
    {".hooks/<layer>/<name>": body}. A .j2 one is rendered with the settings, as upstream's
    install templates them."""
    found = {}
    layers = (("public", settings.HOOKS_DIR),
              ("private", settings.PRIVATE_DIR and str(Path(settings.PRIVATE_DIR) / "scripts")))
    for layer, src in layers:
        if not src or not Path(src).is_dir():
            continue
        for path in sorted(Path(src).iterdir()):
            if not HOOK_RE.match(path.name):
                continue
            body = path.read_bytes()
            if path.suffix == ".j2":
                variables = {f.name: getattr(settings, f.name) for f in fields(settings)}
                body = render.environment().from_string(body.decode()).render(variables).encode()
            found[f"{HOOKS}/{layer}/{path.name.removesuffix('.j2')}"] = body
    return found


def pack(workshops: dict[str, Path], index: dict | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    """A tar of the merged workshops, their index and the hooks (`extra`, executable), the same
    bytes for the same content (no times, no owners)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        files = {INDEX: (json.dumps(index or {}, indent=1, sort_keys=True).encode() + b"\n", 0o644)}
        files.update({name: (body, 0o755) for name, body in sorted((extra or {}).items())})
        for name, (body, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uname, info.gname = len(body), mode, "root", "root"
            tar.addfile(info, io.BytesIO(body))
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
    scripts = hooks(settings)  # rendered with this host's settings
    key = (settings.WODNOBO, settings.WODNOBO_REF, settings.PRIVATE_DIR, settings.WODUSER,
           tuple((name, hashlib.sha256(body).hexdigest()) for name, body in sorted(scripts.items())))
    if key not in _staged:
        found = _read(settings)
        workshops = {name: path for name, (path, _) in found.items()}
        index = {name: index_entry(meta, notebook_kernels(path)) for name, (path, meta) in found.items()}
        data = pack(workshops, index, scripts)
        # who may read what is part of the tree: a new restriction ships it again
        digest = hashlib.sha256(data + json.dumps(restricted(settings)).encode()).hexdigest()
        path = state_dir() / "cache" / f"workshops-{digest[:16]}.tar"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        _staged[key] = (str(path), digest, sorted(workshops))
    return _staged[key]


def warn_unset_variables(settings: Settings) -> None:
    """Before any host changes: which workshops read variables nobody set (their CREATE would be
    rejected), found by parsing their templates with the handler's own variable list."""
    cfg = handler_config(settings)
    for name, path in sorted(catalogue(settings).items()):
        gaps = variables.unset_variables(cfg, name, path)
        if gaps:
            names = ", ".join(sorted(set().union(*gaps.values())))
            logger.warning(f"workshop {name} reads {names}, which nobody set (WORKSHOP_VARS): its CREATE will be "
                           f"rejected (in {', '.join(sorted(gaps))})")


@pyinfra_deploy("Workshops")
def deploy(settings: Settings):
    warn_unset_variables(settings)
    tarball, digest, names = staged(settings)
    reads.together(reads.read(TreeDigest, dest=settings.workshops_dir), managed.state_read(restricted_dirs(settings)))
    tree(name=f"Workshops ({len(names)}: {', '.join(names)[:80]})", local_tar=tarball, digest=digest,
         dest=settings.workshops_dir, restricted=restricted(settings))
    managed.deploy(restricted_dirs(settings), "Workshops")  # their modes, should the tree be in place already


def restricted_dirs(settings: Settings) -> list[Directory]:
    return [Directory(f"{settings.workshops_dir}/{sub}", "root", group, 0o750)
            for sub, group in restricted(settings).items()]


def restricted(settings: Settings) -> dict[str, str]:
    """The hooks are the admin's scripts (the private ones too): WODUSER runs them, participants
    do not read them; the notebooks stay world-readable for the handler's copies."""
    return {HOOKS: settings.WODUSER} if hooks(settings) else {}


def checks(settings: Settings, probe):
    _, digest, names = staged(settings)
    found = probe(TreeDigest, dest=settings.workshops_dir)
    yield expect("workshops.content", settings.workshops_dir, f"digest {digest[:12]} ({' '.join(names)})",
                 found and f"digest {found[:12]}" + (f" ({' '.join(names)})" if found == digest else ""),
                 "converge ships the workshops again")
    yield from managed.checks("workshops", restricted_dirs(settings), probe)
