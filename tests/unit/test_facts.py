"""What the fixtures cannot say on their own: properties of fact commands and parsers."""

from facts.files import ManagedPaths
from facts.students import StudentAccounts

from .conftest import recorded


def test_student_accounts_drops_effective_comments():
    fact = StudentAccounts().process(["H /student/student1 750 2001 2001", "F /student/student1",
                                      "A user:wodadmin:rwx\t#effective:r-x"])
    assert fact["homes"]["/student/student1"]["acl"] == ["user:wodadmin:rwx"]


def test_student_accounts_is_one_command_for_all():
    command = StudentAccounts().command(studdir="/student")
    assert "getent passwd" in command and "getfacl" in command and "for " not in command


def test_student_accounts_reads_every_recorded_home():
    fact = StudentAccounts().process(recorded("StudentAccounts/in-place"))
    assert len(fact["users"]) == len(fact["homes"]) == 20


def test_values_are_quoted_never_pasted():
    """A hostile path stays one word: the shell never sees its metacharacters."""
    command = ManagedPaths().command(paths=["/tmp/x; touch /tmp/pwned", "/etc/$(id)"])
    assert "'/tmp/x; touch /tmp/pwned'" in command and "'/etc/$(id)'" in command
    assert "/student" in StudentAccounts().command(studdir="/student") and \
        "'/my dir'" in StudentAccounts().command(studdir="/my dir")


def test_managed_paths_keeps_spaces_in_paths():
    out = ["P 81a4 root root 644 /etc/a b.conf", "P 41ed root root 755 /etc/x y", "P a1ff root root 777 /etc/l n",
           "0123456789abcdef0123456789abcdef01234567  /etc/a b.conf"]
    assert ManagedPaths().process(out) == {
        "/etc/a b.conf": {"type": "file", "user": "root", "group": "root", "mode": 0o644,
                          "sha1": "0123456789abcdef0123456789abcdef01234567"},
        "/etc/x y": {"type": "directory", "user": "root", "group": "root", "mode": 0o755},
        "/etc/l n": {"type": "link", "user": "root", "group": "root", "mode": 0o777}}


def test_managed_reads_are_two_processes_whatever_the_count():
    """stat and sha1sum once for all paths; systemctl once for all units: no loop in the shell."""
    from facts.services import ServiceStates
    command = ManagedPaths().command(paths=[f"/etc/f{i}" for i in range(50)])
    assert "for " not in command and command.count("stat ") == 1 and command.count("sha1sum ") == 1
    assert ServiceStates().command(units=["a.service", "b.service"]).count("systemctl ") == 1
