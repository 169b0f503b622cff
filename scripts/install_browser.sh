#!/usr/bin/env bash
# Install Debian's Chromium for the web app's browser tests (tests/web, marker `browser`).
# Playwright drives this system browser (executable_path=/usr/bin/chromium); never run
# `playwright install`, which downloads its own browser build.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi
bash "$(dirname "$0")/apt_install.sh" chromium
/usr/bin/chromium --version || true
