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
    """``{canonical name: version}`` installed in a venv; empty when the venv is missing."""

    default = dict

    def command(self, venv: str) -> str:
        python = f"{venv}/bin/python"
        return sh("test -x %s && PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "
                  "%s -m pip list --format=json 2>/dev/null || true", python, python)

    def process(self, output: list[str]) -> dict:
        return {canonical(p["name"]): p["version"] for p in json.loads("\n".join(output))}


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
