"""Workshop files rendered as upstream's Ansible renders them (copy_folder.yml): the same file
types templated, everything else copied byte for byte, Ansible's template settings and the
filters and variables the public workshops use.

Runs on the backend beside mailapi.py (with the hub venv's Jinja2) and on the controller, where
the deploy uses `needs()` to warn about workshops whose variables nobody set.
"""

from __future__ import annotations

import base64
import functools
import json
import random as _random
import re
import shutil
from pathlib import Path

# copy_folder.yml templates exactly these; everything else is copied untouched (a .yml or .md
# may hold Ansible or Helm templates of its own).
TEMPLATED_SUFFIXES = {".ipynb", ".yaml", ".py", ".sh", ".src", ".tf", ".env"}
TEMPLATED_NAMES = {"Variables.ps1"}
SKIPPED_PARTS = {".git", ".ipynb_checkpoints"}


def templated(path: Path) -> bool:
    return path.suffix in TEMPLATED_SUFFIXES or path.name in TEMPLATED_NAMES


# Ansible's filters, as ansible.plugins.filter.core defines them (the ones workshops use).

def regex_replace(value="", pattern="", replacement="", ignorecase=False, multiline=False, count=0):
    flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
    return re.sub(pattern, replacement, str(value), count=count, flags=flags)


def regex_search(value, regex, *args, ignorecase=False, multiline=False):
    flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
    match = re.search(regex, str(value), flags)
    if not match:
        return None
    if not args:
        return match.group()
    return [match.group(int(a[1:])) if a.startswith("\\") else match.group(a[2:-1]) for a in args]


def ansible_random(end, start=None, step=None, seed=None):
    """Ansible's `random`: an int below `end` (or a choice from a list), reproducible with a seed."""
    r = _random.SystemRandom() if seed is None else _random.Random(seed)
    if isinstance(end, int):
        return r.randrange(start or 0, end, step or 1)
    if start or step:
        raise ValueError("random: start and step only go with an integer end")
    return r.choice(list(end))


def to_bool(value) -> bool:
    if isinstance(value, bool) or value is None:
        return bool(value)
    return str(value).lower() in ("yes", "on", "1", "true", "y", "t")


def ternary(value, true_val, false_val, none_val=None):
    if value is None and none_val is not None:
        return none_val
    return true_val if value else false_val


FILTERS = {
    "regex_replace": regex_replace,
    "regex_search": regex_search,
    "random": ansible_random,
    "bool": to_bool,
    "ternary": ternary,
    "b64encode": lambda s: base64.b64encode(str(s).encode()).decode(),
    "b64decode": lambda s: base64.b64decode(str(s)).decode(),
    "to_json": lambda v, **kw: json.dumps(v, **kw),
}


def environment():
    """Jinja2 as Ansible's template module sets it up (trim_blocks on, undefined is an error), but
    sandboxed: a workshop template cannot reach Python's internals (and from there `os`)."""
    import jinja2  # the hub venv has it; imported late so mailapi's parsing needs only the stdlib
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                        trim_blocks=True)
    env.filters.update(FILTERS)
    return env


def context(variables: dict, host: str) -> dict:
    """Variables as Ansible shows them: each by name, and all under hostvars[inventory_hostname]
    (how a notebook reads names such as IP-WKSHP-Docker101)."""
    return {**variables, "inventory_hostname": host, "hostvars": {host: dict(variables)}}


@functools.cache  # the deploy asks for each workshop file once per backend
def needs(text: str) -> frozenset[str]:
    """Every variable a template reads: plain names, and names read as hostvars[...]['NAME']."""
    from jinja2 import meta, nodes

    env = environment()
    tree = env.parse(text)
    names = set(meta.find_undeclared_variables(tree)) - {"hostvars", "inventory_hostname"}
    for item in tree.find_all(nodes.Getitem):
        inner = item.node
        if isinstance(inner, nodes.Getitem) and isinstance(inner.node, nodes.Name) and \
                inner.node.name == "hostvars" and isinstance(item.arg, nodes.Const):
            names.add(str(item.arg.value))
    return frozenset(names)


def missing(src: Path, provided: set[str]) -> dict[str, set[str]]:
    """{file relative to src: the variables it reads that are not provided}, templated files only."""
    gaps = {}
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if path.is_file() and templated(path) and not SKIPPED_PARTS & set(rel.parts):
            lacking = needs(path.read_text(errors="replace")) - provided
            if lacking:
                gaps[str(rel)] = lacking
    return gaps


def render_tree(src: Path, dest: Path, variables: dict, host: str) -> None:
    """src rendered into dest: templated types through Jinja2, the rest copied byte for byte."""
    env, ctx = environment(), context(variables, host)
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if SKIPPED_PARTS & set(rel.parts):
            continue
        target = dest / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif templated(path):
            target.write_text(env.from_string(path.read_text()).render(ctx))
        else:
            shutil.copy2(path, target)
