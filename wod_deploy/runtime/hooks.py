"""Upstream's per-workshop hook scripts (create-, post-copy-, cleanup-, reset-<WS>.sh)."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

from . import naming
from .message import Request


def run_hooks(cfg: dict, kind: str, req: Request, n: int, password: str = "") -> list[str]:
    """Upstream's `<kind>-<WS>.sh`, public then private, as WODUSER (as procmail ran them), with
    upstream's environment and no arguments; a failure raises (the action is logged as failed)."""
    ran = []
    for layer in ("public", "private"):
        script = Path(cfg["workshops_dir"]) / ".hooks" / layer / f"{kind}-{req.ws}.sh"
        if not (script.is_file() and os.access(script, os.X_OK)):
            continue
        admin = pwd.getpwnam(cfg["wod_user"])
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": admin.pw_dir,
               "USER": admin.pw_name, "LOGNAME": admin.pw_name, "WODUSER": cfg["wod_user"],
               "stdid": str(n), "stddir": naming.student_home(cfg["studdir"], n), "w": req.workshop, "ws": req.ws,
               "randompw": password}
        proc = subprocess.run(["runuser", "-u", admin.pw_name, "--", str(script)], env=env, cwd=admin.pw_dir,
                              capture_output=True, text=True, timeout=cfg.get("hook_timeout", 600))
        if proc.returncode:
            raise RuntimeError(f"{layer}/{script.name} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
        ran.append(f"{layer}/{script.name}")
    return ran
