"""A component's managed items are read in one round trip and compared as `check` compares them."""

from unittest.mock import patch

import pytest
from pyinfra.api import Config, Inventory, State
from pyinfra.context import ctx_host, ctx_state

from facts.managed import ManagedState
from facts.system import Container
from wod_deploy import managed, reads
from wod_deploy.managed import Directory, File, Moved, Service

ITEMS = [Directory("/etc/wod"), File("/etc/wod/a.conf", "a\n"), File("/etc/wod/b.conf", "b\n", mode=0o640),
         Service("cron")]
PATHS, UNITS = ("/etc/wod", "/etc/wod/a.conf", "/etc/wod/b.conf"), ("cron.service",)


def in_place(item) -> dict:
    return {"active": "active", "enabled": "enabled"} if isinstance(item, Service) else item.want()


@pytest.fixture
def host():
    inventory = Inventory((["@fake"], {"fake_delay": 0, "fake_delay_jitter": 0}))
    state = State(inventory, Config())
    fake = inventory.get_host("@fake")
    with ctx_state.use(state), ctx_host.use(fake):
        reads.clear()
        yield fake


def run(host, items, found: dict) -> tuple[dict, int]:
    """{path: number of commands} for each item, and how many facts were read."""
    made = []

    def get_fact(cls, **kwargs):
        if cls is ManagedState:
            made.append(kwargs)
            return {"paths": {p: v for p, v in found.items() if not p.endswith(".service")},
                    "units": {p: v for p, v in found.items() if p.endswith(".service")}}
        return None  # an item's own operation reads what it needs: absent here

    out = {}
    with patch.object(host, "get_fact", side_effect=get_fact), patch.object(host, "noop"):
        for item in items:
            out[item.path] = len(list(managed.managed_item._inner(item=item, paths=PATHS, units=UNITS)))
    return out, len(made)


def test_items_in_place_cost_one_read_and_no_command(host):
    commands, reads = run(host, ITEMS, {i.path: in_place(i) for i in ITEMS})
    assert reads == 1 and set(commands.values()) == {0}


def test_only_the_item_out_of_place_runs_its_operation(host):
    found = {i.path: in_place(i) for i in ITEMS}
    found["/etc/wod/b.conf"] = {**found["/etc/wod/b.conf"], "sha1": "0" * 40}  # its content edited
    commands, reads = run(host, ITEMS, found)
    assert reads == 1
    assert commands["/etc/wod/b.conf"] > 0 and commands["/etc/wod/a.conf"] == commands["/etc/wod"] == 0


def test_a_whole_sha1_is_compared_not_the_twelve_characters_check_shows(host):
    item = ITEMS[1]
    found = {i.path: in_place(i) for i in ITEMS}
    found[item.path] = {**found[item.path], "sha1": item.want()["sha1"][:12] + "f" * 28}
    commands, _ = run(host, [item], found)
    assert commands[item.path] > 0


def commands_of(host, item, found: dict) -> list[str]:
    """The shell an item yields on the fake host when the batched read shows `found`."""
    def get_fact(cls, **kwargs):
        return {"paths": found, "units": {}} if cls is ManagedState else None

    reads.clear()  # a new run
    with patch.object(host, "get_fact", side_effect=get_fact), patch.object(host, "noop"):
        return [str(c.get_raw_value()) if hasattr(c, "get_raw_value") else str(c)
                for c in managed.managed_item._inner(item=item, paths=(item.path,), units=())]


def test_a_tree_directory_out_of_place_gives_its_owner_to_everything_under_it(host):
    venv = Directory("/opt/jupyterhub", tree=True)
    upstream = {**venv.want(), "user": "wodadmin", "group": "wodadmin", "mode": 0o751}
    assert commands_of(host, venv, {venv.path: upstream})[-1] == "chown -R --no-dereference root:root /opt/jupyterhub"
    assert commands_of(host, venv, {venv.path: venv.want()}) == []  # in place: the tree is not walked


def test_a_moved_file_refuses_two_copies_and_moves_once(host):
    moved = Moved("/opt/jupyterhub/lib/jupyterhub.sqlite", "/opt/jupyterhub/var/jupyterhub/jupyterhub.sqlite",
                  before="systemctl stop jupyterhub || true")
    refuse, stop, move = commands_of(host, moved, {moved.path: {"type": "file"}})
    assert refuse.startswith("if [ -e /opt/jupyterhub/var/jupyterhub/jupyterhub.sqlite ]") and "exit 1" in refuse
    assert stop == "systemctl stop jupyterhub || true"
    assert move == ("install -d -m 0700 /opt/jupyterhub/var/jupyterhub && mv /opt/jupyterhub/lib/jupyterhub.sqlite "
                    "/opt/jupyterhub/var/jupyterhub/jupyterhub.sqlite")
    assert commands_of(host, moved, {}) == []  # gone from the old place: nothing to do


def test_a_link_where_a_managed_file_goes_is_removed_never_written_through(host):
    """pyinfra's put copies through a link: into its target (found on a real host: /etc/hostname
    rewritten with a cron line). The link is removed first; a directory makes rm fail, loudly."""
    cron = File("/etc/cron.d/wod-upd", "54 3 * * * root /usr/local/bin/wod-upd\n")
    link = {"type": "link", "user": "root", "group": "root", "mode": 0o777}
    assert commands_of(host, cron, {cron.path: link})[0] == "rm -f /etc/cron.d/wod-upd"
    edited = {**cron.want(), "sha1": "0" * 40}
    assert "rm -f /etc/cron.d/wod-upd" not in commands_of(host, cron, {cron.path: edited})


def test_a_stopped_service_runs_its_operation(host):
    found = {i.path: in_place(i) for i in ITEMS}
    found["cron.service"] = {"active": "inactive", "enabled": "enabled"}  # a unit's state has no type
    with patch.object(Service, "commands", lambda self: iter(["systemctl start cron"])):  # pyinfra's, not ours
        commands, _ = run(host, ITEMS, found)
    assert commands["cron.service"] == 1 and commands["/etc/wod/a.conf"] == 0


@pytest.mark.parametrize("container, commands", [("docker", 0), (None, 1)])
def test_a_clock_service_stopped_by_its_condition_is_in_place_only_in_a_container(host, container, commands):
    clock = Service("systemd-timesyncd", in_container=False)
    stopped = {"active": "inactive", "enabled": "enabled"}

    def get_fact(cls, **kwargs):
        if cls is ManagedState:
            return {"paths": {}, "units": {clock.path: stopped}}
        return container if cls is Container else {}  # systemd's own facts: an unknown unit

    with patch.object(host, "get_fact", side_effect=get_fact), patch.object(host, "noop"):
        made = list(managed.managed_item._inner(item=clock, paths=(), units=(clock.path,)))
    assert (len(made) > 0) == bool(commands)
