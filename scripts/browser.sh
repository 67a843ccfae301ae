#!/usr/bin/env bash
# Make sure Debian's headless Chromium and its WebDriver are here (the portal test drives them;
# Selenium never downloads a browser of its own). As root, installs them when missing.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "browser: chromium and chromium-driver are missing and I am not root: apt-get install them" >&2
  exit 1
fi
echo "browser: installing chromium and chromium-driver from Debian" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
