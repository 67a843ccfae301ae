"""The students operation yields nothing when in place, and one batched script otherwise."""

import copy

from facts.students import StudentAccounts
from wod_deploy.operations.files import secret_file
from wod_deploy.operations.students import student_plan, students

from .conftest import recorded

ARGS = dict(usermin=1, usermax=2, uidbase=2000, gidbase=2000, admin="wodadmin", studdir="/student")
IN_PLACE = StudentAccounts().process(recorded("student_accounts.txt"))


def test_in_place_yields_nothing(run_op):
    assert run_op(students, {"StudentAccounts": IN_PLACE}, **ARGS) == []


def test_empty_host_gets_one_script_creating_everything(run_op):
    commands = run_op(students, {"StudentAccounts": {}}, **{**ARGS, "usermax": 2000})
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
    plan = student_plan(accounts, 1, 3, 2000, 2000, "/student", "wodadmin")
    assert plan["fix_uid"] == [2] and plan["fix_home"] == [1] and plan["fix_acl"] == [2]
    assert plan["add_group"] == [1, 3] and plan["add_user"] == [3] and plan["add_home"] == [3]


def test_clean_removes_existing_students_then_recreates(run_op):
    script = run_op(students, {"StudentAccounts": IN_PLACE}, **ARGS, clean=True)[0]
    assert 'userdel -r -f "$u"' in script and "student1 student2" in script
    assert "for n in 1 2; do add_user $n; done" in script


def test_secret_file_is_made_once(run_op):
    assert run_op(secret_file, {"File": {"mode": 600, "user": "root", "group": "root"}}, path="/t") == []
    made = run_op(secret_file, {"File": None}, path="/t")
    assert len(made) == 1 and "umask 077" in made[0] and "secrets.token_hex" in made[0]
