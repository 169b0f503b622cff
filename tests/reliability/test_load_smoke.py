"""A CI-sized run of bench/load.py: mixed evaluate / patient-view / order-sign load on a real server over
loopback, varied patients, zero errors. (Latency targets are measured on a quiet machine, not asserted here:
CI hosts are shared; docs/reliability.md has the figures.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load.py"


def test_load_smoke_has_no_errors(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        str(BENCH),
        "--n",
        "300",
        "--concurrency",
        "16",
        "--distinct",
        "150",
        "--max-seconds",
        "60",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    rows = {
        m.group(1): m.groups()
        for m in re.finditer(
            r"^\| `POST (\S+)` \| (\d+) \| (\d+) \| ([\d.]+) \| ([\d.]+) \| (\d+)", res.stdout, re.M
        )
    }
    assert set(rows) == {
        "/api/v1/evaluate",
        "/cds-services/netcds-patient-view",
        "/cds-services/netcds-order-sign",
    }
    for path, n, _rps, p50, p99, errors in rows.values():
        assert int(n) == 100, path
        assert int(errors) == 0, path
        assert 0 < float(p50) <= float(p99) < 10_000, path  # sanity only (shared CI host)
    total = re.search(r"^\| \*\*all\*\* \| (\d+) \|.* \| (\d+) \|$", res.stdout, re.M)
    assert total is not None and total.group(1) == "300" and total.group(2) == "0"
    assert "150 distinct patients" in res.stdout
    assert re.search(r"peak RSS \(VmHWM, all processes\) \d+ MiB", res.stdout)
