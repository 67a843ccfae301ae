"""The machine itself: virtualization and kernel values."""

from __future__ import annotations

from pyinfra.api import FactBase

from wod_deploy.shell import sh


class Container(FactBase):
    """The container technology (``docker``, ``lxc``, ...) or None on a VM or bare metal.

    Under systemd (every backend: its services are systemd units) from the file its PID 1 writes
    when it starts in a container, with the shell's own `read`: systemd-detect-virt is a process
    of 6 ms of the host's CPU, at every converge."""

    def command(self) -> str:
        # `read` fails at a last line without a newline, having read it all the same
        return ("if [ -d /run/systemd/system ]; then "
                "{ { read -r kind || [ -n \"$kind\" ]; } < /run/systemd/container && echo \"$kind\"; } 2>/dev/null "
                "|| echo none; else systemd-detect-virt --container 2>/dev/null || true; fi")

    def process(self, output: list[str]) -> str | None:
        value = output[0].strip()
        return None if value in ("", "none") else value


class SysctlValues(FactBase):
    """``{key: value}`` read from /proc/sys (values as the kernel prints them)."""

    default = dict

    def command(self, keys: list[str]) -> str:
        return sh("for k in %s; do p=/proc/sys/$(echo \"$k\" | tr . /); "
                  "[ -r \"$p\" ] && echo \"$k $(cat \"$p\")\"; done; true", keys)

    def process(self, output: list[str]) -> dict:
        return {k: v.strip() for k, _, v in (line.partition(" ") for line in output)}
