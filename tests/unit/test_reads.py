"""An unchanged host's declared reads cost one round trip; after a change, one per component; a read
that fails in it is made alone."""

from types import SimpleNamespace
from unittest.mock import patch

import pytest
from pyinfra import host
from pyinfra.api import Config, Inventory, State
from pyinfra.context import ctx_host, ctx_state

from facts.batch import Batch, fact_class
from facts.files import FileLines, TreeDigest
from facts.managed import ManagedState
from facts.npm import PackageVersion
from wod_deploy import reads

LINES = reads.read(FileLines, path="/root/.bashrc", lines=["ulimit -n 65535"])
DIGEST = reads.read(TreeDigest, dest="/var/lib/wod/workshops")
NPM = reads.read(PackageVersion, path="/usr/local/lib/wod/npm/package.json")
SYSTEM = {"paths": ["/etc/wod", "/etc/cron.d/wod-upd"], "units": ["cron.service"]}
HUB = {"paths": ["/etc/wod", "/opt/jupyterhub"], "units": ["jupyterhub.service"]}
MANAGED = ["P 41ed root root 755 /etc/wod", "P 41ed root root 755 /opt/jupyterhub",  # no /etc/cron.d/wod-upd
           "U cron.service jupyterhub.service", "Id=cron.service", "ActiveState=active", "UnitFileState=enabled",
           "Id=jupyterhub.service", "ActiveState=failed", "UnitFileState=enabled"]


class Asked(list):
    """The facts asked for, by name; `batches`, the reads of each Batch."""
    batches: list


@pytest.fixture
def made():
    """The facts the fake host was asked for, in order; Batch answers from each fact's `outputs`."""
    inventory = Inventory((["@fake"], {"fake_delay": 0, "fake_delay_jitter": 0}))
    state = State(inventory, Config())
    host = inventory.get_host("@fake")
    asked = Asked()
    asked.batches = []
    outputs = {FileLines: (0, ["1"]), TreeDigest: (0, ["abc123"]), PackageVersion: (1, ["{"]),
               ManagedState: (0, MANAGED)}

    def get_fact(cls, **kwargs):
        asked.append(cls.__name__)
        if cls is Batch:
            asked.batches.append(kwargs["reads"])
            Batch().command(**kwargs)  # every read is one this package can batch
            return [outputs[fact_class(name)] for name, _ in kwargs["reads"]]
        return f"{cls.__name__} alone"

    reads.clear()
    with ctx_state.use(state), ctx_host.use(host), patch.object(host, "get_fact", side_effect=get_fact):
        yield asked


def test_a_group_is_read_once_and_answers_its_facts_by_their_own_process(made):
    reads.together(LINES, DIGEST)
    assert reads.fact(TreeDigest, dest="/var/lib/wod/workshops") == "abc123"
    assert reads.fact(FileLines, path="/root/.bashrc", lines=["ulimit -n 65535"]) == [True]
    assert made == ["Batch"]


def test_an_unchanged_hosts_first_read_reads_every_component_ahead(made):
    reads.together(LINES)
    reads.together(DIGEST, NPM)
    assert reads.fact(FileLines, path="/root/.bashrc", lines=["ulimit -n 65535"]) == [True]
    assert reads.fact(TreeDigest, dest="/var/lib/wod/workshops") == "abc123"
    assert made == ["Batch"]


def test_after_a_change_a_component_reads_again_what_was_read_ahead_for_it(made):
    reads.together(LINES)
    reads.together(DIGEST)
    reads.fact(FileLines, path="/root/.bashrc", lines=["ulimit -n 65535"])
    with patch.object(reads, "_changes", return_value=1):  # an operation ran commands
        assert reads.fact(TreeDigest, dest="/var/lib/wod/workshops") == "TreeDigest alone"
        assert reads.fact(FileLines, path="/root/.bashrc", lines=["ulimit -n 65535"]) == [True]  # its own group's
    assert made == ["Batch", "TreeDigest"]


def test_the_hosts_changes_are_the_operations_before_the_running_one_that_ran_commands(made):
    run, ops = reads._host_reads(True), host.state.ops[host]
    for op_hash, executed in (("installed", True), ("failed", True), ("no-change", False), ("running", False)):
        ops[op_hash] = SimpleNamespace(operation_meta=SimpleNamespace(executed=executed))
    host.op_hash_order = list(ops)
    for running, changes in (("installed", 0), ("failed", 1), ("no-change", 2), ("running", 2), ("running", 2)):
        host.current_op_hash = running
        assert reads._changes(run) == changes
    host.current_op_hash = None  # outside an operation: all of them
    assert reads._changes(run) == 2


def test_a_read_that_fails_in_the_batch_is_made_alone(made):
    reads.together(LINES, NPM)
    assert reads.fact(PackageVersion, path="/usr/local/lib/wod/npm/package.json") == "PackageVersion alone"
    assert made == ["Batch", "PackageVersion"]


def test_an_undeclared_fact_is_read_alone_once_per_run(made):
    for _ in range(2):
        assert reads.fact(TreeDigest, dest="/elsewhere") == "TreeDigest alone"
    assert made == ["TreeDigest"]


def test_the_managed_state_of_every_component_is_one_read_of_all_and_each_gets_its_own(made):
    reads.together(reads.read(ManagedState, **SYSTEM))
    reads.together(reads.read(ManagedState, **HUB))
    directory = {"type": "directory", "user": "root", "group": "root", "mode": 0o755}
    assert reads.fact(ManagedState, **HUB) == {
        "paths": {"/etc/wod": directory, "/opt/jupyterhub": directory},
        "units": {"jupyterhub.service": {"active": "failed", "enabled": "enabled"}}}
    assert reads.fact(ManagedState, **SYSTEM) == {
        "paths": {"/etc/wod": directory}, "units": {"cron.service": {"active": "active", "enabled": "enabled"}}}
    # in the order declared (the read sent ahead is the same command), whichever is asked first
    assert made.batches == [[["managed.ManagedState", {"paths": ["/etc/wod", "/etc/cron.d/wod-upd", "/opt/jupyterhub"],
                                                       "units": ["cron.service", "jupyterhub.service"]}]]]
    assert made == ["Batch"]


def test_a_fact_that_needs_a_command_gives_its_default_without_it():
    command = Batch().command(reads=[["pyinfra.facts.deb.DebPackages", {}]])
    assert command.startswith("( command -v dpkg >/dev/null 2>&1 || exit 0; dpkg -l )")


def test_each_command_runs_in_its_own_subshell_followed_by_its_status_on_a_line_of_its_own():
    command = Batch().command(reads=[["files.TreeDigest", {"dest": "/a"}], ["npm.PackageVersion", {"path": "/b"}]])
    assert command.count("( ") == 2 and command.count("printf '\\n@@wod-read %s\\n' \"$?\"") == 2
    # a complete output, one without a final newline (a JSON file), nothing, an empty last line
    output = ["x", "", "@@wod-read 0", '{"version": "1"}', "@@wod-read 0", "", "@@wod-read 1", "y", "", "",
              "@@wod-read 0"]
    assert Batch().process(output) == [(0, ["x"]), (0, ['{"version": "1"}']), (1, []), (0, ["y", ""])]
