"""Files pyinfra has no operation for: a secret made on the host, a sudoers drop-in checked by
visudo, lines appended, a tree swapped in whole (facts/files.py)."""

from __future__ import annotations

import hashlib
from io import StringIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, OperationError, operation
from pyinfra.facts.files import Directory, File, Sha1File

from facts.accounts import LoginUser
from facts.files import EnvFile, FileLines, ManagedPaths, TreeDigest
from facts.managed import ManagedState

from .. import reads
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


@operation()
def private_dir(path: str):
    """A directory of the SSH user's own (the one pyinfra uploads as, before sudo), 0700. Anything
    else at the path (a file, a link, another owner) is replaced: its parent is root's."""
    user = reads.fact(LoginUser)
    info = reads.fact(Directory, path=path)
    if info and info["user"] == user and octal_mode(info) == 0o700:
        host.noop(f"{path} is {user}'s, 0700")
        return
    yield sh("rm -rf %s && install -d -o %s -m 0700 %s", path, user, path)


@operation()
def secret_put(path: str, content: str):
    """A secret from the deploying environment, root 0600. Compared by digest and never shown: no
    --diff, no content on a command line, no moment at which the file is readable by others."""
    info = host.get_fact(File, path=path)
    if (info and octal_mode(info) == 0o600 and (info["user"], info["group"]) == ("root", "root")
            and host.get_fact(Sha1File, path=path) == hashlib.sha1(content.encode()).hexdigest()):
        host.noop(f"{path} is in place")
        return
    new = f"{path}.wod-new"
    yield sh("rm -f %s && install -m 0600 -o root -g root /dev/null %s", new, new)  # cp keeps this mode
    yield FileUploadCommand(StringIO(content), new, remote_temp_filename=staging_name(new))
    yield sh("mv %s %s", new, path)


@operation()
def secret_initial(path: str, content: str):
    """A secret file made with a public placeholder `content` (root 0600) when absent; one already
    there came from the deploying environment of an earlier deploy, and is kept."""
    if host.get_fact(File, path=path):
        host.noop(f"{path} is in place")
        return
    yield sh("install -m 0600 -o root -g root /dev/null %s && printf '%%s\\n' %s > %s", path, content, path)


def staging_name(dest: str) -> str:
    """Where pyinfra stages an upload to `dest` before sudo copies it (the private staging dir)."""
    return host.get_temp_filename(dest, temp_directory=(host.current_op_global_arguments or {}).get("_temp_dir"))


@operation()
def env_file(path: str, lines: list[str], secrets: dict[str, str], user: str, rewrite: bool = False):
    """KEY=value lines for an application, 0600 `user`: the public `lines` from here, each secret
    `KEY=<content of a root-only file on the host>` added on the host, so no secret travels. Its
    first line stamps the public part; rewritten when that, a secret, the owner or mode differ, or
    with `rewrite` (a secret file this run changes: the host's read predates it)."""
    stamp = "# wod-deploy " + hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
    state = host.get_fact(EnvFile, path=path, secrets=secrets)
    wanted = (stamp, True, f"{user}:{user}", 0o600)
    if not rewrite and state and (state["stamp"], state["secrets"], state["owner"], state["mode"]) == wanted:
        host.noop(f"{path} is in place")
        return
    new = f"{path}.wod-new"
    body = sh("umask 077 && { printf '%%s\\n' %s %s", stamp, lines)
    body += "".join(sh("; printf '%%s=%%s\\n' %s \"$(cat %s)\"", key, file) for key, file in sorted(secrets.items()))
    yield body + sh("; } > %s && chown %s:%s %s && mv %s %s", new, user, user, new, new, path)


SUDOERS_MODE = 0o440  # what sudo accepts for a drop-in


@operation()
def sudoers(path: str, content: str):
    """A sudoers drop-in (root, 0440), checked with ``visudo -c`` before it replaces the live file;
    its type, owner, mode and digest read in one round trip."""
    found = (reads.fact(ManagedState, paths=[path], units=[]) or {"paths": {}})["paths"].get(path)
    wanted = {"type": "file", "user": "root", "group": "root", "mode": SUDOERS_MODE,
              "sha1": hashlib.sha1(content.encode()).hexdigest()}
    if found and all(found.get(key) == value for key, value in wanted.items()):
        host.noop(f"{path} is in place")
        return
    tmp = f"{path}.wod-new"
    yield sh("printf '%%s' %s > %s && chown root:root %s && chmod %s %s && visudo -c -q -f %s "
             "&& mv %s %s || { rm -f %s; exit 1; }",
             content, tmp, tmp, f"{SUDOERS_MODE:04o}", tmp, tmp, tmp, path, tmp)


@operation()
def lines_present(path: str, lines: list[str]):
    """Whole lines appended to a file when missing (appending also works on bind-mounted files).
    Each is looked for again as it is appended: the component's one read may be older."""
    present = reads.fact(FileLines, path=path, lines=lines)
    missing = [line for line, ok in zip(lines, present or [False] * len(lines)) if not ok]
    for line in missing:
        yield sh("grep -qxF -- %s %s 2>/dev/null || printf '%%s\\n' %s >> %s", line, path, line, path)
    if not missing:
        host.noop(f"{path} has its {len(lines)} lines")


@operation()
def tree(local_tar: str, digest: str, dest: str, restricted: dict[str, str] | None = None):
    """A directory tree shipped as one tarball and swapped in whole, when its digest changed.

    Everything is root's and world-readable, except the `restricted` subdirectories: {path in the
    tree: the one group that may read it}. The tarball is staged beside `dest` (a parent only root
    writes, 0600 before a byte lands) and extracted only if its sha256 is the one computed here."""
    if reads.fact(TreeDigest, dest=dest) == digest:
        host.noop(f"{dest} is at {digest[:12]}")
        return
    with open(local_tar, "rb") as f:
        tar_sha256 = hashlib.sha256(f.read()).hexdigest()
    tar, new, old = f"{dest}.tar", f"{dest}.new", f"{dest}.old"
    yield sh("rm -rf %s && install -m 0600 /dev/null %s", tar, tar)  # sudo's cp keeps an existing file's mode
    yield FileUploadCommand(local_tar, tar, remote_temp_filename=staging_name(tar))
    yield sh("printf '%%s  %%s\\n' %s %s | sha256sum -c --quiet -", tar_sha256, tar)
    restrict = "".join(sh(" && chgrp -R %s %s && chmod -R o= %s", group, f"{new}/{sub}", f"{new}/{sub}")
                       for sub, group in sorted((restricted or {}).items()))
    yield sh("rm -rf %s %s && mkdir -p %s && tar -xf %s -C %s --no-same-owner "
             "&& echo %s > %s && chmod -R u=rwX,go=rX %s",
             new, old, new, tar, new, digest, f"{new}/.wod-digest", new) + restrict + sh(
             " && { [ ! -e %s ] || mv %s %s; } && mv %s %s && rm -rf %s %s", dest, dest, old, new, dest, old, tar)


@operation()
def absent(path: str):
    """No file, link or directory at `path` (a dangling link too)."""
    if path not in host.get_fact(ManagedPaths, paths=[path]):
        host.noop(f"{path} is absent")
        return
    yield sh("rm -rf %s", path)
