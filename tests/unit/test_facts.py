"""Fact parsers on output recorded from a real backend."""

import json

from facts.kernels import KernelSpecs
from facts.npm import NpmGlobalVersion
from facts.students import StudentAccounts

from .conftest import recorded


def test_student_accounts_parses_users_groups_homes_and_acls():
    fact = StudentAccounts().process(recorded("student_accounts.txt"))
    assert fact["users"]["student1"] == {"uid": 2001, "gid": 2001, "home": "/student/student1", "shell": "/bin/bash"}
    assert fact["groups"] == {"student1": 2001, "student2": 2002}
    assert fact["base"] == {"mode": 0o711, "uid": 0, "gid": 0}
    home = fact["homes"]["/student/student2"]
    assert (home["mode"], home["uid"], home["gid"]) == (0o770, 2002, 2002)
    assert "user:wodadmin:rwx" in home["acl"] and "default:user:wodadmin:rwx" in home["acl"]


def test_student_accounts_drops_effective_comments():
    fact = StudentAccounts().process(["H /student/student1 750 2001 2001", "F /student/student1",
                                      "A user:wodadmin:rwx\t#effective:r-x"])
    assert fact["homes"]["/student/student1"]["acl"] == ["user:wodadmin:rwx"]


def test_student_accounts_command_is_one_command_for_all():
    command = StudentAccounts().command(studdir="/student")
    assert "getent passwd" in command and "getfacl" in command and "for " not in command


def test_kernelspecs():
    out = json.dumps({"kernelspecs": {"bash": {"resource_dir": "/opt/jupyterhub/share/jupyter/kernels/bash",
                                               "spec": {}}}})
    assert KernelSpecs().process(out.splitlines()) == {"bash": "/opt/jupyterhub/share/jupyter/kernels/bash"}


def test_npm_global_version():
    assert NpmGlobalVersion().process(['{"name": "configurable-http-proxy",', '"version": "4.6.3"}']) == "4.6.3"
