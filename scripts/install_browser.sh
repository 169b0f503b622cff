#!/usr/bin/env bash
# Install Debian's Chromium for the web app's browser tests (tests/web, marker `browser`).
# Playwright drives this system browser (executable_path=/usr/bin/chromium); never run
# `playwright install`, which downloads its own browser build.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y chromium
/usr/bin/chromium --version || true
