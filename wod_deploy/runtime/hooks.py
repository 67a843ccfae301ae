"""Upstream's per-workshop hook scripts (create-, post-copy-, cleanup-, reset-<WS>.sh)."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

from . import catalogue, naming
from .message import Rejected, Request


def appliance_target(cfg: dict, req: Request, n: int) -> str | None:
    """Upstream's WODRTARGET, the appliance a hook sets up for student n: IP-<workshop> (a
    WORKSHOP_VARS value) for a mono-appliance workshop, that address plus n's place in the
    workshop's range for a multi-appliance one; None for a workshop without an appliance.
    Rejected when the workshop has one and nobody gave its address."""
    meta = catalogue.workshop_meta(cfg, req.ws)
    if not meta.get("appliance"):
        return None
    names = (f"IP-{req.workshop}", f"IP-{req.ws}")
    base = next((str(cfg.get("workshop_vars", {})[k]) for k in names if k in cfg.get("workshop_vars", {})), "")
    octets = base.split(".")
    if len(octets) != 4 or not all(o.isdigit() for o in octets):
        raise Rejected(f"workshop {req.ws} is a {meta['appliance']}-appliance workshop and WORKSHOP_VARS gives "
                       f"{names[-1]} no IPv4 address ({base or 'unset'})")
    if meta["appliance"] == "multi":
        octets[3] = str(int(octets[3]) + n - (meta.get("range") or [n])[0])
    return ".".join(octets)


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
        target = appliance_target(cfg, req, n)
        if target:
            env["WODRTARGET"] = target
        proc = subprocess.run(["runuser", "-u", admin.pw_name, "--", str(script)], env=env, cwd=admin.pw_dir,
                              capture_output=True, text=True, timeout=cfg.get("hook_timeout", 600))
        if proc.returncode:
            raise RuntimeError(f"{layer}/{script.name} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
        ran.append(f"{layer}/{script.name}")
    return ran
