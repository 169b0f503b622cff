"""`netcds serve --workers N`: several processes on one socket, one store, restarted when one dies,
all gone when the parent stops; refused on in-memory SQLite."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from netcds.store import Store
from tests.api.conftest import patient_record

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="--workers needs fork (POSIX)")


def _start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETCDS_")}
    env.update({"PYTHONUNBUFFERED": "1", "NETCDS_LOG_LEVEL": "warning"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "netcds", "serve", "--host", "127.0.0.1", "--port", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("netcds serving on "):
            return proc, line.split()[3]
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("server did not start: " + (proc.stderr.read() if proc.stderr else ""))


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        out |= {int(c) for c in task.read_text().split()}
    return out


def _cache_dirs() -> set[Path]:
    roots = [Path("/dev/shm"), Path(tempfile.gettempdir())]
    return {d for r in roots if r.is_dir() for d in r.glob("netcds-cache-*")}


def _listening(port: int) -> int:
    """How many sockets listen on this local TCP port (IPv4, from /proc/net/tcp)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for r in rows if r.split()[1].endswith(f":{port:04X}") and r.split()[3] == "0A")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_two_workers_share_the_socket_and_the_store(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    before = _cache_dirs()
    proc, url = _start(tmp_path, "--workers", "2", "--db", f"sqlite:///{db}")
    try:
        workers = _children(proc.pid)
        assert len(workers) == 2
        assert len(_cache_dirs() - before) == 1  # the workers' shared cache level
        if hasattr(socket, "SO_REUSEPORT"):  # one listening socket per worker: the kernel spreads clients
            assert _listening(int(url.rsplit(":", 1)[1])) == 2
        body = patient_record()
        for i in range(40):  # a new connection each time: the kernel hands them to either worker
            r = httpx.post(f"{url}/api/v1/evaluate", json={**body, "id": f"w-{i}"}, timeout=60)
            assert r.status_code == 200, r.text
        r = httpx.post(f"{url}/api/v1/cases", json=patient_record(), timeout=60)
        assert r.status_code == 201

        # a worker that dies is replaced, and the service keeps answering
        victim = sorted(workers)[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (victim in _children(proc.pid) or len(_children(proc.pid)) < 2):
            time.sleep(0.2)
        now = _children(proc.pid)
        assert victim not in now and len(now) == 2
        for _ in range(10):
            assert httpx.post(f"{url}/api/v1/evaluate", json=body, timeout=60).status_code == 200
    finally:
        current = _children(proc.pid)
        proc.terminate()
        proc.wait(timeout=30)
    time.sleep(0.5)
    assert not [p for p in current if _alive(p)]  # no worker outlives the parent
    assert _cache_dirs() - before == set()  # the shared cache went with the server
    store = Store.open(f"sqlite:///{db}")
    entries = store.audit_log(limit=1000, action="evaluate")
    assert len(entries) == 50  # every answered call audited once, from both workers
    assert store.count_evaluations() == 1
    store.close()


def test_workers_refuse_in_memory_sqlite(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "netcds", "serve", "--port", "0", "--workers", "2", "--db", "sqlite://"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 2
    assert "in-memory" in res.stderr and "Traceback" not in res.stderr
