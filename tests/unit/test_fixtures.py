"""Every fact and operation, pyinfra style: one JSON file per behaviour, one runner each.

    tests/unit/facts/<Fact>/<case>.json
        {"fact": "students.StudentAccounts", "kwargs": {...}, "command": "...",
         "output": [...recorded from a real host...], "value": ...}
    tests/unit/operations/<op>/<case>.json
        {"operation": "students.students", "kwargs": {...},
         "facts": [{"fact": "students.StudentAccounts", "kwargs": {...}, "value": ...}],
         "commands": [...], "noop": "..."}

A fact's `kwargs` must be arguments its `command()` takes, and an operation only gets a fact
read with exactly the recorded arguments: a fixture that no longer matches the code fails.
`python -m tests.unit.record` re-records the outputs from a converged throwaway backend.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from unittest.mock import patch

import pytest
from pyinfra.api import Config, FileUploadCommand, Inventory, State
from pyinfra.context import ctx_host, ctx_state

from wod_deploy import reads
from wod_deploy.settings import Settings

HERE = Path(__file__).parent
FACT_CASES = sorted((HERE / "facts").glob("*/*.json"))
OPERATION_CASES = sorted((HERE / "operations").glob("*/*.json"))
FACT_MODULES = {"facts": "facts", "pyinfra": "pyinfra.facts"}  # where "<module>.<Class>" is looked up


def fact_class(name: str):
    """`students.StudentAccounts` (ours, facts/) or `pyinfra:files.File` (pyinfra's)."""
    package = "facts"
    if ":" in name:
        package, name = name.split(":", 1)
    module, cls = name.rsplit(".", 1)
    return getattr(importlib.import_module(f"{FACT_MODULES[package]}.{module}"), cls)


def operation(name: str):
    module, func = name.rsplit(".", 1)
    return getattr(importlib.import_module(f"wod_deploy.operations.{module}"), func)


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def jsonable(value):
    """What json gives back for a value (tuples become lists, sets sorted lists, times strings)."""
    return json.loads(json.dumps(value, default=lambda v: sorted(v) if isinstance(v, (set, frozenset)) else str(v)))


@pytest.mark.parametrize("path", FACT_CASES, ids=[f"{p.parent.name}/{p.stem}" for p in FACT_CASES])
def test_fact(path):
    case = load(path)
    fact = fact_class(case["fact"])()
    inspect.signature(fact.command).bind(**case["kwargs"])  # only real arguments
    assert fact.command(**case["kwargs"]) == case["command"]
    value = fact.process(case["output"]) if case["output"] else fact.default()
    assert jsonable(value) == case["value"]


def every_fact_class() -> set[str]:
    import pkgutil

    from pyinfra.api import FactBase

    import facts

    found = set()
    for info in pkgutil.iter_modules(facts.__path__):
        module = importlib.import_module(f"facts.{info.name}")
        found |= {f"{info.name}.{name}" for name, obj in vars(module).items()
                  if inspect.isclass(obj) and issubclass(obj, FactBase) and obj.__module__ == module.__name__}
    return found


def every_operation() -> set[str]:
    import pkgutil

    import wod_deploy.operations as ops

    found = set()
    for info in pkgutil.iter_modules(ops.__path__):
        module = importlib.import_module(f"wod_deploy.operations.{info.name}")
        found |= {f"{info.name}.{name}" for name, obj in vars(module).items()
                  if callable(obj) and hasattr(obj, "_inner") and obj.__module__ == module.__name__}
    return found


def test_every_fact_and_operation_has_a_no_change_and_a_repair_case():
    facts_seen: dict[str, list[str]] = {}
    for path in FACT_CASES:
        facts_seen.setdefault(load(path)["fact"], []).append(path.stem)
    ops_seen: dict[str, list[dict]] = {}
    for path in OPERATION_CASES:
        case = load(path)
        ops_seen.setdefault(case["operation"], []).append(case)
    assert every_fact_class() - set(facts_seen) == set(), "facts without fixtures"
    assert [f for f, cases in facts_seen.items() if len(cases) < 2] == [], "facts with a single case"
    assert every_operation() - set(ops_seen) == set(), "operations without fixtures"
    for op, cases in ops_seen.items():
        assert any(not c["commands"] for c in cases), f"{op}: no no-change case"
        assert any(c["commands"] for c in cases), f"{op}: no repair case"


@pytest.fixture(scope="module")
def fake_host():
    inventory = Inventory((["@fake"], {"fake_delay": 0, "fake_delay_jitter": 0}))
    state = State(inventory, Config(TEMP_DIR=Settings.staging_dir))  # as config.py sets it
    return state, inventory.get_host("@fake")


def raw(command) -> str | list:
    if isinstance(command, FileUploadCommand):
        return ["upload", command.src if isinstance(command.src, str) else "<stream>", command.dest]
    return command.get_raw_value() if hasattr(command, "get_raw_value") else str(command)


@pytest.mark.parametrize("path", OPERATION_CASES, ids=[f"{p.parent.name}/{p.stem}" for p in OPERATION_CASES])
def test_operation(path, fake_host):
    case = load(path)
    state, host = fake_host
    reads.clear()  # each case its own run: no value read for another
    recorded = [(fact_class(f["fact"]), f["kwargs"], f["value"]) for f in case["facts"]]

    def get_fact(cls, *args, **kwargs):
        assert not args, "facts are read with keyword arguments"
        inspect.signature(cls().command).bind(**{k: v for k, v in kwargs.items() if not k.startswith("_")})
        for fact_cls, fact_kwargs, value in recorded:
            if fact_cls is cls and jsonable(kwargs) == fact_kwargs:
                return value
        raise AssertionError(f"{path.name}: no recorded {cls.__name__} for {kwargs}")

    with patch.object(host, "get_fact", side_effect=get_fact), patch.object(host, "noop") as noop, \
            ctx_state.use(state), ctx_host.use(host):
        commands = [raw(c) for c in operation(case["operation"])._inner(**case["kwargs"])]
    assert commands == case["commands"]
    if "noop" in case:
        noop.assert_called_once_with(case["noop"])
