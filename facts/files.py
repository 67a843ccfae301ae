"""Files and directories: owner, mode and digest of a set of paths; lines in a file; a shipped
tree's digest; what an unprivileged user can write."""

from __future__ import annotations

from pyinfra.api import FactBase

from wod_deploy.shell import sh


class ManagedPaths(FactBase):
    """
    ``{path: {"type": "file"|"directory"|"link"|"other", "user", "group", "mode", "sha1"}}`` for
    each path that exists (``sha1`` for files only); absent paths are missing. ``mode`` is an int
    (0o644). A link is a link, whatever it points to: a managed file replaced by one is not ours.

    Two processes for any number of paths (one `stat`, one `sha1sum`): the read of a component's
    twenty items costs as much as the read of one.
    """

    default = dict
    TYPES = {0o100000: "file", 0o040000: "directory", 0o120000: "link"}

    def command(self, paths: list[str]) -> str:
        return sh("stat -c 'P %%f %%U %%G %%a %%n' -- %s 2>/dev/null; sha1sum -- %s 2>/dev/null; true", paths, paths)

    def process(self, output: list[str]) -> dict:
        found, sums = {}, {}
        for line in output:
            if line.startswith("P "):
                _, raw, user, group, mode, path = line.split(" ", 5)
                kind = self.TYPES.get(int(raw, 16) & 0o170000, "other")
                found[path] = {"type": kind, "user": user, "group": group, "mode": int(mode, 8)}
            elif len(line) > 42 and line[40:42] == "  ":  # sha1sum: `<40 hex>  <path>`
                sums[line[42:]] = line[:40]
        for path, entry in found.items():
            if entry["type"] == "file":
                entry["sha1"] = sums.get(path, "unreadable")
        return found


class FileLines(FactBase):
    """For each of `lines`, in order, whether the file has it as a whole line (False if absent)."""

    default = list

    def command(self, path: str, lines: list[str]) -> str:
        return "; ".join(sh("if grep -qxF -- %s %s 2>/dev/null; then echo 1; else echo 0; fi", line, path)
                         for line in lines) or "true"

    def process(self, output: list[str]) -> list[bool]:
        return [x.strip() == "1" for x in output]


class TreeDigest(FactBase):
    """The digest a deployed directory tree was stamped with (``<dest>/.wod-digest``), or None."""

    def command(self, dest: str) -> str:
        return sh("cat %s 2>/dev/null || true", f"{dest}/.wod-digest")

    def process(self, output: list[str]) -> str | None:
        return output[0].strip() or None


class WritablePaths(FactBase):
    """
    Every path under `paths` that `user` can write, as the kernel decides for that user (modes,
    ACLs, ownership): ``find -writable`` run as the user (TLJH's "nothing user-writable").
    Empty when the user does not exist.
    """

    default = list

    def command(self, user: str, paths: list[str]) -> str:
        return sh("id -u %s >/dev/null 2>&1 || exit 0; "
                  "for p in %s; do [ -e \"$p\" ] && setpriv --reuid=%s --regid=%s --init-groups "
                  "find \"$p\" -xdev -writable -print 2>/dev/null; done; true",
                  user, paths, user, user)

    def process(self, output: list[str]) -> list[str]:
        return sorted(line for line in output if line)


class EnvFile(FactBase):
    """An environment file made on the host from public lines and secret files (operations/files
    env_file): ``{"stamp": <its first line>, "secrets": true if each KEY=<secret file> line
    matches its file, "owner": "user:group", "mode": 0o600}``, or None when it is absent."""

    def command(self, path: str, secrets: dict[str, str]) -> str:
        # the line each secret makes goes to grep as its pattern file, on a pipe: a secret is never on a
        # command line, where any local account reads it (printf is the shell's own)
        checks = "".join(sh(" && printf '%%s=%%s\\n' %s \"$(cat %s 2>/dev/null)\" | grep -qxF -f - %s", key, file, path)
                         for key, file in sorted(secrets.items()))
        return sh("[ -f %s ] || exit 0; head -n1 %s; stat -c '%%U:%%G %%a' %s; ", path, path, path) + \
            f"{{ true{checks}; }} && echo secrets-match || echo secrets-stale"

    def process(self, output: list[str]) -> dict | None:
        if len(output) < 3:
            return None
        owner, mode = output[1].split()
        return {"stamp": output[0], "owner": owner, "mode": int(mode, 8), "secrets": output[2] == "secrets-match"}
