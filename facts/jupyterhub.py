"""The JupyterHub venv and the running hub."""

from __future__ import annotations

import json
import re

from pyinfra.api import FactBase

from wod_deploy.shell import sh


def canonical(name: str) -> str:
    """PEP 503 name: what pip compares (`bash-kernel` == `bash_kernel`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


class VenvPackages(FactBase):
    """``{canonical name: version}`` installed in a venv, from its distributions' metadata directory
    names (what pip itself reads; one listing, no interpreter started); empty when there is none."""

    default = dict

    def command(self, venv: str) -> str:
        # the shell's own glob and printf: no process per package (a pattern matching nothing
        # comes back as itself, and is dropped below)
        return sh("printf '%%s\\n' %s/lib/python3*/site-packages/*.dist-info %s/lib/python3*/site-packages/*.egg-info",
                  venv, venv)

    def process(self, output: list[str]) -> dict:
        # `jupyter_server-2.14.2.dist-info`: the name never holds a dash, the version never does either
        return {canonical(name): version for name, version, _ in
                (re.fullmatch(r"(.+?)-([^-]+?)(?:-py[\d.]+)?\.(dist|egg)-info", line.rsplit("/", 1)[-1]).group(1, 2, 3)
                 for line in output if line.endswith(("dist-info", "egg-info")) and "*" not in line)}


class HubApi(FactBase):
    """What ``GET /hub/api`` answers on the host's own port (http or https): ``{"version": ...}``, or None."""

    def command(self, port: int, scheme: str = "http") -> str:
        # is it up? (over https: the certificate names the public host, not 127.0.0.1)
        script = ("import ssl, urllib.request, sys; sys.stdout.write(urllib.request.urlopen("
                  f"'{'https' if scheme == 'https' else 'http'}://127.0.0.1:{int(port)}/hub/api', timeout=5, "
                  "context=ssl._create_unverified_context()).read().decode())")
        return sh("python3 -B -c %s 2>/dev/null || true", script)

    def process(self, output: list[str]) -> dict | None:
        try:
            return json.loads("\n".join(output))
        except ValueError:
            return None
