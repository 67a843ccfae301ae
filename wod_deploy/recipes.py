"""Kernel recipes: what each Jupyter kernel the backend may register needs, in one place.

Pure data (settings validates KERNELS against it; components/kernels.py and the hub venv's pins
read it). A recipe is shipped only once it was seen to install here and run a notebook: these
machines reach PyPI, Debian's archive and npm, not crates.io (evcxr, Rust), the Go module proxy
(gophernotes) nor Microsoft's apt repository (PowerShell), so those have no recipe.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """One kernel: pinned pip packages in the hub venv, Debian packages, the `python -m` argv that
    registers it once (its logos), and its kernel.json, which the deploy owns by content."""

    module: str  # what `python -m` runs as the kernel
    display_name: str
    language: str
    install: tuple[str, ...]
    pip: tuple[str, ...] = ()
    apt: tuple[str, ...] = ()
    extra: tuple[tuple[str, object], ...] = ()  # more kernel.json keys (env, codemirror_mode, metadata)

    def spec(self, venv: str) -> dict:
        """The kernel.json the deploy writes: the venv's own python, whatever the installer wrote."""
        return {"argv": [f"{venv}/bin/python", "-m", self.module, "-f", "{connection_file}"],
                "display_name": self.display_name, "language": self.language, **dict(self.extra)}


RECIPES = {
    "python3": Recipe("ipykernel_launcher", "Python 3 (ipykernel)", "python",
                      ("ipykernel", "install", "--sys-prefix", "--name", "python3"),
                      extra=(("metadata", {"debugger": True}),)),
    "bash": Recipe("bash_kernel", "Bash", "bash", ("bash_kernel.install", "--sys-prefix"),
                   pip=("bash_kernel==0.10.0",),
                   extra=(("codemirror_mode", "shell"), ("env", {"PS1": "$"}))),
    # runs the cells on another host over SSH, with the participant's own key pair (made at CREATE)
    "ssh": Recipe("sshkernel", "SSH", "bash", ("sshkernel", "install", "--sys-prefix"),
                  pip=("sshkernel==0.11.1",), apt=("openssh-client",)),
}
