"""Output written to a pipe or a file keeps each value on its line (session 42): off a terminal Rich laid out
for 80 columns, so `netcds kb validate | cat` split a digest onto a line of its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_kb_validate_piped_keeps_each_digest_on_its_release_line() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    res = subprocess.run(
        [sys.executable, "-m", "netcds", "kb", "validate"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    releases = [ln for ln in lines if ln.startswith("ok nccn-net ")]
    assert len(releases) >= 13
    assert all(re.search(r"digest [0-9a-f]{16}$", ln) for ln in releases), lines[:6]
