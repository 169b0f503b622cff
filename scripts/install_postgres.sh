#!/usr/bin/env bash
# Install Debian's PostgreSQL server binaries (initdb, pg_ctl, postgres) for the store and service tests on
# PostgreSQL (tests/store; the cluster itself is made by the tests: tests/postgres_plugin.py starts a
# private one in a temporary directory on a free loopback port and removes it at the end).
# `postgresql` is Debian's metapackage for the supported major version (bookworm: postgresql-15, with
# postgresql-client-15 and postgresql-common, which adds the `postgres` user that initdb runs as under
# root). The package may create and start its own "main" cluster on port 5432: the tests do not use it.
set -euo pipefail
found() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}
if dir=$(found); then
    echo "PostgreSQL already installed: $("$dir/pg_ctl" --version 2>/dev/null || echo "$dir")"
    exit 0
fi
bash "$(dirname "$0")/apt_install.sh" --no-install-recommends postgresql
dir=$(found)
"$dir/pg_ctl" --version
