"""What a component owns (files, directories, secrets, services), declared once: each item
yields its pyinfra operation for the deploy and its expected state for the check.

File bodies come from templates: the private overlay's `templates/` first (PRIVATE_DIR), then
ours, so an overlay template of the same name replaces ours. Modes are octal ints everywhere.

A converge reads the state of all the items of one `deploy()` call in one round trip, the read
`check` makes, and compares it in the words `check` uses: an item in place costs nothing more,
one out of place runs its pyinfra operation (which reads what it needs itself).
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
from dataclasses import dataclass, field, replace
from io import StringIO
from pathlib import Path

import jinja2
from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, operation
from pyinfra.operations import files, systemd

from facts.managed import ManagedState
from facts.system import Container

from . import reads
from .checks import CONVERGE, expect, mode
from .operations.files import absent, secret_file, secret_put
from .settings import Settings

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def _templates(private_dir: str) -> jinja2.Environment:
    """One environment per overlay: each template compiled once per run, not once per host."""
    paths = [str(Path(private_dir) / "templates")] if private_dir else []
    return jinja2.Environment(loader=jinja2.FileSystemLoader([*paths, str(TEMPLATES)]),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True, auto_reload=False)


def render(template: str, settings: Settings, **extra) -> str:
    return _templates(settings.PRIVATE_DIR).get_template(template).render(s=settings, **extra)


def describe(state: dict | None, shown: tuple[str, ...]) -> str | None:
    """The expected and the actual state of an item, in the same words: `file root:root 0644 sha1 ...`."""
    if state is None:
        return None
    words = {"owner": lambda: f"{state['user']}:{state['group']}", "mode": lambda: mode(state["mode"]),
             "sha1": lambda: f"sha1 {state.get('sha1', 'none')[:12]}"}
    return " ".join(words[key]() if key in words else str(state.get(key)) for key in shown)


@dataclass(frozen=True)
class File:
    path: str
    content: str
    user: str = "root"
    group: str = "root"
    mode: int = 0o644
    shown = ("type", "owner", "mode", "sha1")

    def commands(self):
        return files.put._inner(src=StringIO(self.content), dest=self.path, user=self.user, group=self.group,
                                mode=mode(self.mode))

    def want(self) -> dict:
        return {"type": "file", "user": self.user, "group": self.group, "mode": self.mode,
                "sha1": hashlib.sha1(self.content.encode()).hexdigest()}


@dataclass(frozen=True)
class Directory:
    """A directory; with `tree`, its owner is given to everything under it when it is out of place
    (a venv another installer made as another user). Modes stay per file: never applied down."""

    path: str
    user: str = "root"
    group: str = "root"
    mode: int = 0o755
    tree: bool = False
    shown = ("type", "owner", "mode")

    def commands(self):
        yield from files.directory._inner(path=self.path, user=self.user, group=self.group, mode=mode(self.mode))
        if self.tree:
            yield StringCommand("chown", "-R", "--no-dereference", QuoteString(f"{self.user}:{self.group}"),
                                QuoteString(self.path))

    def want(self) -> dict:
        return {"type": "directory", "user": self.user, "group": self.group, "mode": self.mode}


@dataclass(frozen=True)
class Secret:
    """A token generated on the host, root 0600; its content is never read back nor compared."""

    path: str
    nbytes: int = 32
    shown = ("type", "owner", "mode")

    def commands(self):
        return secret_file._inner(path=self.path, nbytes=self.nbytes)

    def want(self) -> dict:
        return {"type": "file", "user": "root", "group": "root", "mode": 0o600}


@dataclass(frozen=True)
class Key:
    """A secret brought from the deploying machine (a TLS key), root 0600: written by secret_put,
    so never shown by --diff; checked by digest, which is shown, never the content."""

    path: str
    content: str = field(repr=False)
    shown = ("type", "owner", "mode", "sha1")

    def commands(self):
        return secret_put._inner(path=self.path, content=self.content)

    def want(self) -> dict:
        return {"type": "file", "user": "root", "group": "root", "mode": 0o600,
                "sha1": hashlib.sha1(self.content.encode()).hexdigest()}


@dataclass(frozen=True)
class Service:
    """A systemd unit, enabled, and running unless `running` is None (then: left as it is). One
    not `in_container` (a clock: the host's) is only kept enabled in a container, where its
    ConditionVirtualization keeps it stopped; the host tells, when the item is compared."""

    unit: str
    running: bool | None = True
    enabled: bool = True
    in_container: bool = True

    def commands(self):
        return systemd.service._inner(service=self.unit, running=self.running, enabled=self.enabled)

    @property
    def shown(self) -> tuple[str, ...]:
        return ("active", "enabled") if self.running is not None else ("enabled",)

    def want(self) -> dict:
        return {"active": "active" if self.running else "inactive",
                "enabled": "enabled" if self.enabled else "disabled"}

    @property
    def path(self) -> str:
        """The unit's full name: `postfix` is postfix.service, `x.timer` stays x.timer."""
        return self.unit if "." in self.unit else f"{self.unit}.service"


@dataclass(frozen=True)
class Gone:
    """A path that must not exist (a package's default site): removed, link or file."""

    path: str
    shown = ("type",)

    def commands(self):
        return absent._inner(path=self.path)

    def want(self) -> None:
        return None


@dataclass(frozen=True)
class Moved:
    """A file an earlier installer kept elsewhere (upstream's hub database in the venv), moved to
    `to` once, after `before` (stop what holds it open). Both present is refused: which one to
    keep is the admin's call, not ours."""

    path: str
    to: str
    before: str = "true"
    shown = ("type",)

    def commands(self):
        src, dest = QuoteString(self.path), QuoteString(self.to)
        yield StringCommand("if [ -e", dest, "]; then echo", QuoteString(f"both {self.path} and {self.to} exist: "
                            "keep one (move the other away), then converge again"), ">&2; exit 1; fi")
        yield StringCommand(self.before)
        yield StringCommand("install -d -m 0700", QuoteString(posixpath.dirname(self.to)), "&& mv", src, dest)

    def want(self) -> None:
        return None


Item = File | Directory | Secret | Key | Service | Gone | Moved


def deploy(items: list[Item], prefix: str, read: list[Item] | None = None) -> dict[Item, object]:
    """Each item's operation, in order; returns {item: its operation}, for `_if` gating.

    `read` (default: `items`) are the items whose state one round trip reads: a component that
    lays its items down in several calls (units, a reload, then services) passes all it owns to
    each, so they share one read (and names it in its reads.together, with state_read)."""
    paths, units = _split(read or items)
    return {item: managed_item(name=f"{prefix}: {item.path}", item=item, paths=paths, units=units)
            for item in items}


def _split(items: list[Item]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (tuple(i.path for i in items if not isinstance(i, Service)),
            tuple(i.path for i in items if isinstance(i, Service)))


def state_read(items: list[Item]) -> reads.Key:
    """The read deploy(..., read=items) makes, for a component's reads.together."""
    paths, units = _split(items)
    return reads.read(ManagedState, paths=list(paths), units=list(units))


@operation()
def managed_item(item: Item, paths: tuple[str, ...], units: tuple[str, ...]):
    """`item` as declared: nothing when the batched read shows it so, else its own operation."""
    state = reads.fact(ManagedState, paths=list(paths), units=list(units)) or {"paths": {}, "units": {}}
    found = (state["units"] if isinstance(item, Service) else state["paths"]).get(item.path)
    item = _here(item, lambda: reads.fact(Container))
    if _fields(found, item.shown) == _fields(item.want(), item.shown):
        host.noop(f"{item.path}: {describe(found, item.shown) or 'absent'}")
        return
    if found and found.get("type", "file") != "file" and (item.want() or {}).get("type") == "file":
        # a link (or a directory: then rm fails, and says so) where our file goes: pyinfra's
        # put would copy through the link into its target
        yield StringCommand("rm", "-f", QuoteString(item.path))
    yield from item.commands()


def _here(item: Item, container) -> Item:
    """`item` as wanted on this host; `container()` reads whether it is a container, if it matters."""
    if isinstance(item, Service) and not item.in_container and container():
        return replace(item, running=None)
    return item


def _fields(state: dict | None, shown: tuple[str, ...]) -> tuple | None:
    """What `describe` shows, unabridged (a whole sha1): the values the no-op decision compares."""
    if state is None:
        return None
    return tuple((state.get("user"), state.get("group")) if key == "owner" else state.get(key) for key in shown)


def checks(component: str, items: list[Item], probe, hint: str = CONVERGE):
    """One check per item, all read in one round trip (ManagedState)."""
    paths = [i.path for i in items if not isinstance(i, Service)]
    units = [i.path for i in items if isinstance(i, Service)]
    state = probe(ManagedState, paths=paths, units=units) or {"paths": {}, "units": {}}
    for item in (_here(i, lambda: probe(Container)) for i in items):
        kind = type(item).__name__.lower()
        found = (state["units"] if isinstance(item, Service) else state["paths"]).get(item.path)
        yield expect(f"{component}.{kind}", item.path, describe(item.want(), item.shown),
                     describe(found, item.shown), hint)
