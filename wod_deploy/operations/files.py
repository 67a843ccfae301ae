"""Files pyinfra has no operation for: a secret made on the host, a sudoers drop-in checked by
visudo, lines appended, a tree swapped in whole (facts/files.py)."""

from __future__ import annotations

import hashlib
import posixpath

from pyinfra import host
from pyinfra.api import FileUploadCommand, OperationError, operation
from pyinfra.facts.files import File, Sha1File

from facts.files import FileLines, TreeDigest

from ..shell import sh


def octal_mode(info: dict) -> int:
    """pyinfra's File fact spells 0o600 as the int 600: read it back as the octal it means."""
    return int(str(info["mode"]), 8)


@operation()
def secret_file(path: str, nbytes: int = 32):
    """A random hex token generated ON the host (root, 0600), created once and never rewritten."""
    info = host.get_fact(File, path=path)
    if info:
        if octal_mode(info) != 0o600 or info["user"] != "root" or info["group"] != "root":
            yield sh("chown root:root %s && chmod 0600 %s", path, path)
        else:
            host.noop(f"{path} exists")
        return
    if info is False:
        raise OperationError(f"{path} exists and is not a regular file")
    script = f"import secrets; print(secrets.token_hex({int(nbytes)}))"
    yield sh("umask 077 && python3 -c %s > %s && mv %s %s", script, f"{path}.tmp", f"{path}.tmp", path)


SUDOERS_MODE = 0o440  # what sudo accepts for a drop-in


@operation()
def sudoers(path: str, content: str):
    """A sudoers drop-in (root, 0440), checked with ``visudo -c`` before it replaces the live file."""
    info = host.get_fact(File, path=path)
    same = info and host.get_fact(Sha1File, path=path) == hashlib.sha1(content.encode()).hexdigest()
    if same and octal_mode(info) == SUDOERS_MODE and info["user"] == "root" and info["group"] == "root":
        host.noop(f"{path} is in place")
        return
    tmp = f"{path}.wod-new"
    yield sh("printf '%%s' %s > %s && chown root:root %s && chmod %s %s && visudo -c -q -f %s "
             "&& mv %s %s || { rm -f %s; exit 1; }",
             content, tmp, tmp, f"{SUDOERS_MODE:04o}", tmp, tmp, tmp, path, tmp)


@operation()
def lines_present(path: str, lines: list[str]):
    """Whole lines appended to a file when missing (appending also works on bind-mounted files)."""
    present = host.get_fact(FileLines, path=path, lines=lines)
    missing = [line for line, ok in zip(lines, present or [False] * len(lines)) if not ok]
    for line in missing:
        yield sh("printf '%%s\\n' %s >> %s", line, path)
    if not missing:
        host.noop(f"{path} has its {len(lines)} lines")


@operation()
def tree(local_tar: str, digest: str, dest: str):
    """A directory tree shipped as one tarball and swapped in whole, when its digest changed."""
    if host.get_fact(TreeDigest, dest=dest) == digest:
        host.noop(f"{dest} is at {digest[:12]}")
        return
    tar = posixpath.join("/tmp", f"wod-tree-{digest[:16]}.tar")
    new, old = f"{dest}.new", f"{dest}.old"
    yield FileUploadCommand(local_tar, tar)
    yield sh("rm -rf %s %s && mkdir -p %s && tar -xf %s -C %s --no-same-owner "
             "&& echo %s > %s && chmod -R u=rwX,go=rX %s "
             "&& { [ ! -e %s ] || mv %s %s; } && mv %s %s && rm -rf %s %s",
             new, old, new, tar, new, digest, f"{new}/.wod-digest", new, dest, dest, old, new, dest, old, tar)
