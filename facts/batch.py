"""Several facts' commands run as one remote command (wod_deploy/reads.py declares which)."""

from __future__ import annotations

import importlib

from pyinfra.api import FactBase

MARK = "@@wod-read "  # after each fact's output, on a line of its own: its exit status


class Batch(FactBase):
    """``[(exit status, stdout lines), ...]``, one per ``[fact, kwargs]`` of `reads`, in order; a
    fact is named as `fact_name` names it (``files.FileLines``, ``pyinfra.facts.deb.DebPackages``).

    Each command runs in its own subshell, so an `exit` in one ends only that one. Its marker
    starts with a newline, so an output without a final one (a `cat` of a JSON file) cannot
    swallow it; the empty line that newline leaves after a complete output is dropped. The facts'
    own `process` is left to the caller: a fact that fails here is read again on its own, where
    pyinfra reports its error its usual way."""

    default = list

    def command(self, reads: list[list]) -> str:
        commands = []
        for name, kwargs in reads:
            fact = fact_class(name)()
            needs = fact.requires_command(**kwargs)  # without it, no output: the fact's default
            check = f"command -v {needs} >/dev/null 2>&1 || exit 0; " if needs else ""
            commands.append(f"( {check}{fact.command(**kwargs)} ); printf '\\n{MARK}%s\\n' \"$?\"")
        return "; ".join(commands)

    def process(self, output: list[str]) -> list[tuple[int, list[str]]]:
        results, lines = [], []
        for line in output:
            if line.startswith(MARK):
                results.append((int(line[len(MARK):]), lines[:-1] if lines[-1:] == [""] else lines))
                lines = []
            else:
                lines.append(line)
        return results


def fact_name(cls: type[FactBase]) -> str:
    """This package's facts by their module here (``files.FileLines``), pyinfra's in full."""
    module = cls.__module__
    assert module.startswith(("facts.", "pyinfra.facts.")), f"{cls.__name__}: not a fact this can batch"
    return f"{module.removeprefix('facts.')}.{cls.__name__}"


def fact_class(name: str) -> type[FactBase]:
    module, cls = name.rsplit(".", 1)
    return getattr(importlib.import_module(module if module.startswith("pyinfra.") else f"facts.{module}"), cls)
