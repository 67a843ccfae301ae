"""Throwaway Docker hosts: containers with systemd as PID 1 that pyinfra reaches over real SSH.

Every port is published on 127.0.0.1 only, on a port Docker picks. Hosts are found again by
container label, so `inventories/docker.py` needs no state file.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import tarfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import docker
from docker.errors import NotFound

from ..local import state_dir
from ..roles import ROLES
from .image import host_image

# WOD_TESTHOST_LABEL keeps a second checkout's hosts out of this one's inventory (and its out of ours)
LABEL = os.environ.get("WOD_TESTHOST_LABEL", "wod-deploy.testhost")
ROLE_LABEL = "wod-deploy.role"
NAME_PREFIX = "wod-"

SSH_USER = "deployer"


def ssh_key() -> Path:
    """The project's test SSH key pair, generated on first use (never committed)."""
    key = state_dir() / "ssh" / "id_ed25519"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "wod-deploy-test",
                        "-f", str(key)], check=True)
    return key


@dataclass
class TestHost:
    name: str
    role: str
    ssh_port: int
    ports: dict[str, int] = field(default_factory=dict)
    container: str = ""
    address: str = ""  # on the Docker network: what other hosts see
    gateway: str = ""  # the Docker host as the container sees it (our side of 127.0.0.1)

    def to_json(self) -> dict:
        return asdict(self)


def _client() -> docker.DockerClient:
    return docker.from_env()


def _cgroup_options() -> dict:
    # cgroup v2 hosts need the host namespace and a writable hierarchy for systemd.
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        return {"cgroupns": "host", "volumes": {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}}}
    return {"volumes": {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "ro"}}}


def _published(container, port: int) -> int:
    bindings = container.attrs["NetworkSettings"]["Ports"].get(f"{port}/tcp") or []
    for binding in bindings:
        if binding["HostIp"] == "127.0.0.1":
            return int(binding["HostPort"])
    raise RuntimeError(f"{container.name}: port {port} is not published on 127.0.0.1")


def _as_host(container) -> TestHost:
    role = container.labels[ROLE_LABEL]
    return TestHost(
        name=container.name.removeprefix(NAME_PREFIX),
        role=role,
        ssh_port=_published(container, 22),
        ports={svc: _published(container, port) for svc, port in ROLES[role].port_numbers().items()},
        container=container.name,
        address=container.attrs["NetworkSettings"]["IPAddress"],
        gateway=container.attrs["NetworkSettings"]["Gateway"],
    )


def _put_file(container, path: str, data: bytes, mode: int, uid: int, gid: int) -> None:
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w") as tar:
        info = tarfile.TarInfo(Path(path).name)
        info.size, info.mode, info.uid, info.gid = len(data), mode, uid, gid
        tar.addfile(info, io.BytesIO(data))
    container.put_archive(str(Path(path).parent), stream.getvalue())


def _wait_for_ssh(port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                if sock.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"no SSH banner on 127.0.0.1:{port} after {timeout:.0f}s")


def up(role: str = "backend", name: str | None = None, distro: str = "debian-12") -> TestHost:
    """Start (or find) a throwaway host for `role` and wait until SSH answers."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is unknown; choose one of {sorted(ROLES)}")
    name = name or role.replace("_", "-")
    client = _client()
    try:
        container = client.containers.get(NAME_PREFIX + name)
        if container.status != "running":
            container.start()
    except NotFound:
        ports = {"22/tcp": ("127.0.0.1", None)}
        ports.update({f"{p}/tcp": ("127.0.0.1", None) for p in ROLES[role].port_numbers().values()})
        options = _cgroup_options()
        container = client.containers.run(
            host_image(client, distro),
            name=NAME_PREFIX + name,
            hostname=name,
            detach=True,
            labels={LABEL: "1", ROLE_LABEL: role},
            ports=ports,
            tmpfs={"/run": "", "/run/lock": "", "/tmp": "exec"},
            cap_add=["NET_ADMIN"],
            # as on a server: ports below 1024 are root's (Docker's default lets anyone bind them)
            sysctls={"net.ipv4.ip_unprivileged_port_start": "1024"},
            environment={"container": "docker"},
            stop_signal="SIGRTMIN+3",
            **options,
        )
        pub = ssh_key().with_suffix(".pub").read_bytes()
        _put_file(container, f"/home/{SSH_USER}/.ssh/authorized_keys", pub, 0o600, 1000, 1000)
    container.reload()
    host = _as_host(container)
    _wait_for_ssh(host.ssh_port)
    return host


def down(name: str | None = None) -> list[str]:
    """Remove one throwaway host, or all of them; returns the names removed."""
    removed = []
    for container in _client().containers.list(all=True, filters={"label": LABEL}):
        short = container.name.removeprefix(NAME_PREFIX)
        if name in (None, short, container.name):
            container.remove(force=True, v=True)
            removed.append(short)
    return removed


def running() -> list[TestHost]:
    """The running throwaway hosts, sorted by name."""
    try:
        containers = _client().containers.list(filters={"label": LABEL, "status": "running"})
    except docker.errors.DockerException:
        return []
    return sorted((_as_host(c) for c in containers), key=lambda h: h.name)


def inventory_entry(host: TestHost) -> tuple[str, dict]:
    """How pyinfra reaches a throwaway host: plain SSH to 127.0.0.1, like any server."""
    return (
        host.name,
        {
            "ssh_hostname": "127.0.0.1",
            "ssh_port": host.ssh_port,
            "ssh_user": SSH_USER,
            "ssh_key": str(ssh_key()),
            "ssh_allow_agent": False,
            "ssh_look_for_keys": False,
            # A throwaway host gets a new key when its image is rebuilt: do not pin it.
            "ssh_known_hosts_file": "/dev/null",
            "ssh_strict_host_key_checking": "no",
            # other hosts (an api-db container) reach it at its Docker address
            "wod_address": host.address,
            "WODBEEXTFQDN": f"{host.name}.wod.test",
            "WODBEEXTIP": host.address,
            # the machine running the tests plays the api-db: it sends the mail API through
            # the published port, so the backend sees it as the Docker gateway
            "MAILAPI_CLIENTS": [host.gateway],
            # and a browser, or the api-db's admin, calling it through its published port
            "APIDB_CLIENTS": [host.gateway],
        },
    )
