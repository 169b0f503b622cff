#!/usr/bin/env bash
# Install Debian packages for the tests: `apt_install.sh [apt-get install options] PACKAGE...`
# (sudo when not root; no prompts). Used by install_browser.sh and install_postgres.sh.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y "$@"
