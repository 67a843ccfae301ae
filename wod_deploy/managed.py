"""Files a component owns: rendered once, written by the deploy, compared by the check.

Templates are looked up in the private overlay's `templates/` first (PRIVATE_DIR), then in
ours: an overlay template of the same name replaces ours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import jinja2
from pyinfra.operations import files

from facts.files import ManagedFiles

from .compliance import CONVERGE, expect, mode
from .settings import Settings

TEMPLATES = Path(__file__).parent / "templates"


def render(template: str, settings: Settings, **extra) -> str:
    paths = [str(Path(settings.PRIVATE_DIR) / "templates")] if settings.PRIVATE_DIR else []
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([*paths, str(TEMPLATES)]),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.get_template(template).render(s=settings, **extra)


@dataclass(frozen=True)
class Managed:
    path: str
    content: str
    user: str = "root"
    group: str = "root"
    mode: int = 0o644

    @property
    def sha1(self) -> str:
        return hashlib.sha1(self.content.encode()).hexdigest()

    def describe(self) -> str:
        return f"{self.user}:{self.group} {mode(self.mode)} sha1 {self.sha1[:12]}"


def put(f: Managed, name: str):
    """The pyinfra operation that writes one managed file (its content compared by sha1)."""
    return files.put(name=name, src=StringIO(f.content), dest=f.path, user=f.user, group=f.group,
                     mode=f"{f.mode:04o}")


def checks(check_id: str, wanted: list[Managed], probe, hint: str = CONVERGE, also: tuple[str, ...] = ()):
    """One check per file: owner, group, mode and content, all from one fact read.

    `also` adds paths to that same read; their state is returned (after the checks) for the
    caller to judge, e.g. a secret whose content must not be compared.
    """
    found = probe(ManagedFiles, paths=[f.path for f in wanted] + list(also))
    for f in wanted:
        got = found.get(f.path)
        yield expect(check_id, f.path, f.describe(),
                     got and f"{got['user']}:{got['group']} {mode(got['mode'])} sha1 {got['sha1'][:12]}", hint)
    return {path: found.get(path) for path in also}
