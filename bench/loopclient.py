"""What bench/http.py and bench/load.py share: starting a loopback server, and a minimal HTTP/1.1
keep-alive client.

The client shares the 2-core host with the server it measures, so it must cost little: requests are
encoded before the clock starts, one request at a time per connection, responses are read by
Content-Length (or chunks) and not parsed. A general client (httpx, whose HTTP parser is pure Python)
spent more CPU per 200 KB response than the server did, and so measured itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def start_server(
    tmp: Path, workers: int, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """``netcds serve`` on 127.0.0.1 and a free port (open hooks, SQLite in ``tmp``, log in
    ``tmp/server.log``); (process, URL) once it says it is serving. No NETCDS_* setting of the caller's
    environment leaks in; ``env`` adds some."""
    cmd = [sys.executable, "-m", "netcds", "serve", "--host", "127.0.0.1", "--port", "0", "--open-hooks",
           "--workers", str(workers), "--db", f"sqlite:///{tmp / 'bench.db'}"]  # fmt: skip
    full = {k: v for k, v in os.environ.items() if not k.startswith("NETCDS_")}
    full.update({"PYTHONUNBUFFERED": "1", "NETCDS_LOG_LEVEL": "warning", **(env or {})})
    log = (tmp / "server.log").open("w")  # the server writes it until it stops
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=full, cwd=tmp)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("netcds serving on "):
            url = line.split()[3]
            if not url.startswith("http://127.0.0.1:"):
                proc.kill()
                raise SystemExit(f"refusing {url}: loopback only")
            return proc, url
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("the server did not start; see " + str(tmp / "server.log"))


def keep_freed_memory(mb: int = 256) -> bool:
    """Let this (client) process keep up to ``mb`` MiB of freed heap for reuse (glibc ``mallopt``).

    An Evaluation answer is ~200 KB. By default glibc hands the top of its heap back to the OS once more
    than its trim threshold (128 KB at first) is free, so the client's read buffers were given back and
    faulted in again: its CPU per REST evaluate answer was 0.08 ms in some runs and 0.24-0.29 ms in
    others with the same code on both sides, and the bad runs' p99 was the client's. With the thresholds
    raised it stays at 0.08-0.10 ms. The same tuning on the server changed nothing measurable (its
    answers are cached bytes), so the service keeps the C library's defaults. False where the C
    library is not glibc."""
    import ctypes
    import ctypes.util

    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # M_MMAP_THRESHOLD (-3): blocks under 4 MiB from the heap; M_TRIM_THRESHOLD (-1); M_TOP_PAD (-2)
    return all(mallopt(p, v) == 1 for p, v in ((-3, 4 << 20), (-1, mb << 20), (-2, 1 << 20)))


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes, keep: bool = False) -> tuple[int, bytes]:
        """Send one encoded request; (status, body if ``keep`` else b"")."""
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        body = b""
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append((await self.reader.readexactly(size + 2))[:-2])
                if size == 0:
                    break
            body = b"".join(parts)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body if keep else b""

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def encode(netloc: str, method: str, path: str, body: Any = None) -> bytes:
    payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    head = f"{method} {path} HTTP/1.1\r\nHost: {netloc}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    return (head + "\r\n").encode() + payload


def address(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80, parts.netloc


async def get_json(url: str, path: str) -> Any:
    host, port, netloc = address(url)
    conn = Connection(host, port)
    try:
        status, body = await conn.request(encode(netloc, "GET", path), keep=True)
    finally:
        conn.close()
    if status != 200:
        raise RuntimeError(f"GET {path}: HTTP {status}")
    return json.loads(body)


async def drive(
    url: str,
    requests: list[tuple[str, bytes]],
    concurrency: int,
    max_seconds: float,
    pool: list[Connection] | None = None,
    trace: list[tuple[int, str, float, float, str]] | None = None,
) -> tuple[dict[str, list[float]], dict[str, dict[str, int]], float]:
    """Send ``requests`` ((kind, encoded request) in order) over ``concurrency`` connections; per kind,
    the latencies (s) and the error counts by status, and the wall time. Pass the same ``pool`` (a list,
    filled on first use) to a warm-up run and the measured run, so the measured run reuses open
    keep-alive connections, as an EHR's client does, and does not time 100 TCP handshakes at once. Given
    a ``trace`` list, each request appends (position, kind, start in s from the run's start, latency in
    s, status)."""
    keep_freed_memory()
    host, port, _ = address(url)
    if pool is None:
        pool = []
    while len(pool) < concurrency:
        pool.append(Connection(host, port))
    latencies: dict[str, list[float]] = {k: [] for k, _ in requests}
    errors: dict[str, dict[str, int]] = {k: {} for k, _ in requests}
    position = 0
    deadline = time.perf_counter() + max_seconds
    started = time.perf_counter()

    async def worker(conn: Connection) -> None:
        nonlocal position
        while position < len(requests) and time.perf_counter() < deadline:
            index = position
            kind, raw = requests[index]
            position += 1
            t0 = time.perf_counter()
            try:
                status = str((await asyncio.wait_for(conn.request(raw), 60))[0])
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                status = type(exc).__name__
                conn.close()
            latencies[kind].append(time.perf_counter() - t0)
            if trace is not None:
                trace.append((index, kind, t0 - started, latencies[kind][-1], status))
            if not status.startswith("2"):
                errors[kind][status] = errors[kind].get(status, 0) + 1

    await asyncio.gather(*(worker(c) for c in pool[:concurrency]))
    return latencies, errors, time.perf_counter() - started


def close_all(pool: list[Connection]) -> None:
    for c in pool:
        c.close()


def quantiles_ms(values: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    if not values:
        return 0.0, 0.0
    if len(values) == 1:
        return values[0] * 1000, values[0] * 1000
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49] * 1000, q[98] * 1000


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in task.read_text().split()]
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its child processes (``serve --workers``), from
    /proc (Linux); 0 where it cannot be read."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory (VmHWM) of a process plus its child processes, MiB; None off Linux."""
    found = None
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    found = (found or 0.0) + int(line.split()[1]) / 1024
        except OSError:
            continue
    return found
