"""Small system probes: virtualization, kernel values, lines in files, the firewall."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


class Container(FactBase):
    """The container technology (``docker``, ``lxc``, ...) or None on a VM or bare metal."""

    def command(self) -> str:
        return "systemd-detect-virt --container 2>/dev/null || true"

    def process(self, output: list[str]) -> str | None:
        value = output[0].strip()
        return None if value in ("", "none") else value


class SysctlValues(FactBase):
    """``{key: value}`` read from /proc/sys (values as the kernel prints them)."""

    default = dict

    def command(self, keys: list[str]) -> str:
        paths = " ".join(shlex.quote(k) for k in keys)
        return (f"for k in {paths}; do p=/proc/sys/$(echo $k | tr . /); "
                f"[ -r $p ] && echo \"$k $(cat $p)\"; done; true")

    def process(self, output: list[str]) -> dict:
        return {k: v.strip() for k, _, v in (line.partition(" ") for line in output)}


class FileLines(FactBase):
    """For each of `lines`, in order, whether the file has it as a whole line (False if absent)."""

    default = list

    def command(self, path: str, lines: list[str]) -> str:
        checks = "; ".join(f"if grep -qxF -- {shlex.quote(line)} {shlex.quote(path)} 2>/dev/null; "
                           f"then echo 1; else echo 0; fi" for line in lines)
        return checks or "true"

    def process(self, output: list[str]) -> list[bool]:
        return [x.strip() == "1" for x in output]


class Ufw(FactBase):
    """``{"active": bool, "incoming": "deny", "rules": ["ufw allow 22/tcp", ...]}``, None without ufw."""

    def command(self) -> str:
        return ("command -v ufw >/dev/null || exit 0; ufw status verbose | sed -n 's/^Status: /S /p; "
                "s/^Default: \\([a-z]*\\) (incoming).*/D \\1/p'; ufw show added | sed -n 's/^ufw /R ufw /p'")

    def process(self, output: list[str]) -> dict:
        state = {"active": False, "incoming": "", "rules": []}
        for line in output:
            kind, _, rest = line.partition(" ")
            if kind == "S":
                state["active"] = rest.strip() == "active"
            elif kind == "D":
                state["incoming"] = rest.strip()
            elif kind == "R":
                state["rules"].append(rest.strip())
        return state


class TreeDigest(FactBase):
    """The digest a deployed directory tree was stamped with (``<dest>/.wod-digest``), or None."""

    def command(self, dest: str) -> str:
        return f"cat {shlex.quote(dest)}/.wod-digest 2>/dev/null || true"

    def process(self, output: list[str]) -> str | None:
        return output[0].strip() or None
