"""What the fixtures cannot say on their own: the students operation at scale, and its plan."""

import copy

from facts.students import StudentAccounts
from wod_deploy.operations.students import student_plan, students

from .conftest import recorded
from .test_fixtures import raw

IN_PLACE = StudentAccounts().process(recorded("StudentAccounts/in-place"))


def run_op(op, facts: dict, **kwargs) -> list:
    from unittest.mock import patch

    from pyinfra.api import Config, Inventory, State
    from pyinfra.context import ctx_host, ctx_state

    inventory = Inventory((["@fake"], {"fake_delay": 0, "fake_delay_jitter": 0}))
    state, host = State(inventory, Config()), inventory.get_host("@fake")
    with patch.object(host, "get_fact", side_effect=lambda cls, **kw: facts[cls.__name__]), \
            patch.object(host, "noop"), ctx_state.use(state), ctx_host.use(host):
        return [raw(c) for c in op._inner(**kwargs)]


def test_2000_students_on_an_empty_host_are_one_script_of_one_argument():
    commands = run_op(students, {"StudentAccounts": {}}, usermin=1, usermax=2000, uidbase=2000, gidbase=2000,
                      admin="wodadmin", studdir="/student")
    assert len(commands) == 1
    script = commands[0]
    assert "install -d -m 0711 /student" in script
    for repair in ("add_group", "add_user", "add_home"):
        assert f"do {repair} $n; done" in script
    assert len(script) < 128 * 1024  # one shell argument, whatever the number of students


def test_drift_is_repaired_per_student():
    accounts = copy.deepcopy(IN_PLACE)
    accounts["users"]["student2"]["uid"] = 2999
    accounts["homes"]["/student/student1"]["mode"] = 0o755
    accounts["homes"]["/student/student2"]["acl"].remove("user:wodadmin:rwx")
    del accounts["groups"]["student1"]
    plan = student_plan(accounts, 1, 21, 2000, 2000, "/student", "wodadmin")
    assert plan["fix_uid"] == [2] and plan["fix_home"] == [1] and plan["fix_acl"] == [2]
    assert plan["add_group"] == [1, 21] and plan["add_user"] == [21] and plan["add_home"] == [21]
