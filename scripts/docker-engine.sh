#!/usr/bin/env bash
# Make sure a Docker engine answers; as root, install Debian's docker.io (and debootstrap, for
# the offline base image) and start dockerd when missing. Fails loudly when it cannot.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || [ "$(id -u)" != 0 ] || \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "docker-engine: no Docker engine answers and I am not root: start Docker, or run as root" >&2
  exit 1
fi
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  echo "docker-engine: installing docker.io and debootstrap from Debian" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  echo "docker-engine: starting dockerd (log: /var/log/wod-dockerd.log)" >&2
  nohup dockerd >/var/log/wod-dockerd.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
fi
if ! docker info >/dev/null 2>&1; then
  echo "docker-engine: dockerd did not come up; last log lines:" >&2
  tail -20 /var/log/wod-dockerd.log >&2 || true
  exit 1
fi
