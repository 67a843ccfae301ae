"""What every component declares, checked once for all of them."""

import inspect

import pytest

from wod_deploy.managed import File
from wod_deploy.roles import ROLES
from wod_deploy.settings import Settings

COMPONENTS = [c for role in ROLES.values() for c in role.components if hasattr(c, "owned")]


def owned(component, s: Settings):
    params = inspect.signature(component.owned).parameters
    return component.owned(s, False) if "in_container" in params else component.owned(s)


@pytest.mark.parametrize("component", COMPONENTS, ids=[c.__name__.rsplit(".", 1)[-1] for c in COMPONENTS])
def test_every_managed_file_ends_in_one_newline_and_is_owned_once(component):
    items = owned(component, Settings(WODBEEXTIP="10.0.0.2", WODBEEXTFQDN="hub.example.org"))
    paths = [i.path for i in items]
    assert len(paths) == len(set(paths)), "an item declared twice"
    for item in items:
        if isinstance(item, File) and item.content:
            assert item.content.endswith("\n") and not item.content.endswith("\n\n"), item.path
            assert 0 <= item.mode <= 0o7777


def test_no_path_is_owned_by_two_components():
    seen = {}
    for component in COMPONENTS:
        for item in owned(component, Settings(WODBEEXTFQDN="hub.example.org")):
            assert item.path not in seen, f"{item.path}: {seen.get(item.path)} and {component.__name__}"
            seen[item.path] = component.__name__
