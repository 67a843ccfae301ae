"""A student's home, rebuilt aside and swapped in whole: a failed or interrupted action leaves the
home as it was or complete, never half-written."""

from __future__ import annotations

import ctypes
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import accounts, naming, render

RENAME_EXCHANGE, AT_FDCWD = 2, -100  # linux/fs.h, fcntl.h
_libc = ctypes.CDLL(None, use_errno=True)


def exchange(a: Path, b: Path) -> None:
    """Swap two paths in one step (renameat2 RENAME_EXCHANGE): there is no instant, not even
    across a crash or a reboot, when either name is missing."""
    if _libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE):
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), f"{a} <-> {b}")


def synced(directory: Path) -> None:
    """Everything written to the filesystem holding `directory` is on disk (syncfs: that one
    filesystem only, not the whole machine as sync would)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _libc.syncfs(fd):
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(directory))
    finally:
        os.close(fd)


def private_home(path: Path, account) -> None:
    """An empty home that only the student may enter, before anything is put in it: whoever
    learns the name, or opens it at any later instant, gets nothing."""
    os.mkdir(path, 0o700)
    os.chown(path, account.pw_uid, account.pw_gid)
    os.chmod(path, naming.HOME_CHMOD)


def skeleton(home: Path) -> None:
    """/etc/skel's entries copied into `home`, links as links (not copytree onto the home itself:
    it would give the home /etc/skel's mode at the end)."""
    for entry in Path("/etc/skel").iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, home / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, home / entry.name, follow_symlinks=False)


def owned_by(home: Path, account) -> None:
    """Everything under `home` the student's, changed in this process (no command line names it).
    Only for what root put there while no process of the student's could change the tree."""
    for top, dirs, files in os.walk(home):
        for name in dirs + files:
            os.lchown(os.path.join(top, name), account.pw_uid, account.pw_gid)


def lab_workspace(ws: str) -> dict:
    """JupyterLab's default workspace as upstream's CREATE leaves it (sys/lab-a511.jupyterlab-
    workspace.j2): the workshop's 0-ReadMeFirst notebook open, the file browser in the workshop."""
    readme = f"{ws}/0-ReadMeFirst.ipynb"
    return {"data": {
        "layout-restorer:data": {
            "main": {"dock": {"type": "tab-area", "currentIndex": 0, "widgets": [f"notebook:{readme}"]},
                     "current": f"notebook:{readme}"},
            "left": {"collapsed": False, "visible": True, "current": "filebrowser", "widgets": ["filebrowser"]},
            "right": {"collapsed": True, "visible": True, "widgets": []}},
        "file-browser-filebrowser:cwd": {"path": ws},
        f"notebook:{readme}": {"data": {"path": readme, "factory": "Notebook"}}},
        "metadata": {"id": "default"}}


def furnish(src: Path, home: Path, ws: str, context: dict) -> None:
    """What CREATE puts in a home, done as the student: the workshop rendered, and JupyterLab
    opening on its 0-ReadMeFirst (when it has one), whose checkpoint is the notebook as rendered
    (upstream's copy_folder.yml: "Revert to Checkpoint" brings the participant back to it)."""
    render.render_tree(src, home / ws, context, "localhost")
    readme = home / ws / "0-ReadMeFirst.ipynb"
    if readme.is_file():
        workspaces = home / ".jupyter" / "lab" / "workspaces"
        workspaces.mkdir(parents=True, exist_ok=True)
        (workspaces / "default-37a8.jupyterlab-workspace").write_text(json.dumps(lab_workspace(ws)))
        (home / ws / ".ipynb_checkpoints").mkdir(exist_ok=True)
        shutil.copyfile(readme, home / ws / ".ipynb_checkpoints" / "0-ReadMeFirst-checkpoint.ipynb")


def key_pair(home: Path) -> None:
    """The student's own SSH key pair (upstream's wod_erase_student: RSA 2048, no passphrase),
    which the ssh kernel's notebooks use; made as the student, after the admin's ACL, then 0600
    (its mask with it) and 0644."""
    (home / ".ssh").mkdir(mode=0o700, exist_ok=True)
    me = pwd.getpwuid(os.getuid()).pw_name
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", me, "-f", ".ssh/id_rsa"],
                   check=True, capture_output=True, cwd=home)  # relative: the home is on no command line
    os.chmod(home / ".ssh" / "id_rsa", 0o600)  # the admin's ACL mask to nothing: ssh refuses a key others may read
    os.chmod(home / ".ssh" / "id_rsa.pub", 0o644)


def rebuild_home(cfg: dict, n: int, ws: str = "", context: dict | None = None, after=None) -> None:
    """Skeleton (plus the rendered workshop) built aside, then swapped in: never half-written,
    and a backend stopped at any point (rebooted mid-CREATE) has the home as it was or complete.
    The new home is the student's and 0700 before its first byte, and no command line names it.
    `after` runs once the new home is in place; if it fails, the old home comes back."""
    student, home = naming.student_name(n), Path(naming.student_home(cfg["studdir"], n))
    account = pwd.getpwnam(student)
    for left in home.parent.glob(f".{student}.*"):  # what a stopped rebuild left (we hold the lock)
        shutil.rmtree(left, ignore_errors=True)
    # a private directory beside the home (same filesystem: the swap is a rename), root's 0700,
    # then 0711 so that the student's renderer may pass through it to the home, theirs alone
    work = Path(tempfile.mkdtemp(prefix=f".{student}.", dir=home.parent))
    fresh, stale = work / "new", work / "old"
    try:
        private_home(fresh, account)
        os.chmod(work, 0o711)
        skeleton(fresh)
        owned_by(fresh, account)
        if context is not None:
            # rendered by a child that is the student: a template that escaped the sandbox
            # could do no more than they can
            (fresh / ws).mkdir()
            os.chown(fresh / ws, account.pw_uid, account.pw_gid)
            accounts.as_user(account, cfg.get("render_timeout", 300), furnish, Path(cfg["workshops_dir"]) / ws,
                             fresh, ws, context)
        accounts.kill_processes(student)  # root walks the tree next: nothing of theirs may change it
        for argv in naming.admin_acl_argv(cfg["wod_user"], "."):
            accounts.run(*argv, cwd=fresh)  # relative: the home's path is on no command line
        if context is not None:
            accounts.as_user(account, 60, key_pair, fresh)
        synced(home.parent)  # the new home on disk before its name is: a power cut gives the old or the new
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    accounts.kill_processes(student)  # none left in the old home as it goes
    if home.exists():
        exchange(fresh, home)
        os.rename(fresh, stale)
    else:
        os.rename(fresh, home)
    try:
        if after:
            after()
    except BaseException:
        if stale.exists():
            exchange(stale, home)
        else:
            os.rename(home, stale)
        shutil.rmtree(work, ignore_errors=True)
        raise
    shutil.rmtree(work, ignore_errors=True)
