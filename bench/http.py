"""HTTP benchmark: throughput and p50/p99 latency of the running service over loopback.

Drives ``POST /api/v1/evaluate`` and the ``patient-view`` CDS hook at a fixed
concurrency (default 100) for a bounded number of requests and a bounded time,
then prints a markdown table. Loopback only: a non-127.0.0.1 URL is refused.

    .venv/bin/python bench/http.py                      # starts its own server (open hooks, temp SQLite)
    .venv/bin/python bench/http.py --url http://127.0.0.1:8000 --requests 2000

With ``--url`` the server must run with ``--open-hooks`` (the benchmark sends no tokens).
"""

from __future__ import annotations

import os
import sys

# this file is named http.py: drop its folder from the path so `import http` (used by httpx) gets the stdlib
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import asyncio
import copy
import platform
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from netcds.api.examples import PATIENT_EXAMPLE

PATIENT: dict[str, Any] = {**copy.deepcopy(PATIENT_EXAMPLE), "id": "bench-1"}
LOINC, SNOMED, ICD10 = "http://loinc.org", "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm"


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def _obs(oid: str, code: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2025-03-01",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        **value,
    }


PREFETCH: dict[str, Any] = {
    "patient": {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1962-05-01"},
    "conditions": _bundle(
        {
            "resourceType": "Condition",
            "id": "c-net",
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": ICD10, "code": "C7A.012"}]},
            "bodySite": [{"coding": [{"system": SNOMED, "code": "34516001"}]}],
        },
        {
            "resourceType": "Condition",
            "id": "c-liver",
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": ICD10, "code": "C7B.02"}]},
        },
    ),
    "observations": _bundle(
        _obs("o-ki67", "29593-1", {"valueQuantity": {"value": 8, "unit": "%", "code": "%"}}),
        _obs("o-weight", "29463-7", {"valueQuantity": {"value": 68, "unit": "kg", "code": "kg"}}),
        _obs(
            "o-status",
            "97509-4",
            {"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "271299001"}]}},
        ),
    ),
    "medicationRequests": None,
    "medicationStatements": None,
}


def hook_body() -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/bench", "patientId": "p1"},
        "prefetch": PREFETCH,
    }


def loopback_only(url: str) -> str:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing {url}: the benchmark only talks to a loopback address")
    return url.rstrip("/")


def start_server(tmp: Path) -> tuple[subprocess.Popen[str], str]:
    cmd = [
        sys.executable,
        "-m",
        "netcds",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--open-hooks",
        "--db",
        f"sqlite:///{tmp / 'bench.db'}",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NETCDS_LOG_LEVEL": "warning"}
    log = (tmp / "server.log").open("w")  # the server writes it until it stops
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=tmp)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("netcds serving on "):
            return proc, line.split()[3]
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("the server did not start")


async def drive(
    client: httpx.AsyncClient, path: str, body: Any, total: int, concurrency: int, max_seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    kinds: dict[str, int] = {}
    issued = 0
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        nonlocal issued, errors
        while issued < total and time.perf_counter() < deadline:
            issued += 1
            payload = body() if callable(body) else body
            t0 = time.perf_counter()
            try:
                r = await client.post(path, json=payload)
                status = str(r.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            latencies.append(time.perf_counter() - t0)
            if status != "200":
                errors += 1
                kinds[status] = kinds.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {
        "path": path,
        "n": len(latencies),
        "wall": wall,
        "rps": len(latencies) / wall if wall else 0.0,
        "p50": q[49] * 1000,
        "p99": q[98] * 1000,
        "errors": errors,
        "error_kinds": kinds,
    }


async def run(
    url: str, total: int, concurrency: int, max_seconds: float, warmup: int
) -> list[dict[str, Any]]:
    # drop idle connections before the server does (uvicorn closes them after 5 s idle)
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=3
    )
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        cases = [("/api/v1/evaluate", PATIENT), ("/cds-services/netcds-patient-view", hook_body)]
        out = []
        for path, body in cases:
            # warm up with every connection of the pool, so none sits idle past the server's keep-alive
            await drive(client, path, body, max(warmup, concurrency), concurrency, max_seconds)
            out.append(await drive(client, path, body, total, concurrency, max_seconds))
        return out


def _kinds(kinds: dict[str, int]) -> str:
    return " (" + ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items())) + ")" if kinds else ""


def table(results: list[dict[str, Any]], concurrency: int) -> str:
    rows = [
        "| endpoint | requests | concurrency | throughput (req/s) | p50 (ms) | p99 (ms) | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        name = "POST " + r["path"]
        rows.append(
            f"| `{name}` | {r['n']} | {concurrency} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
            f"{r['errors']}{_kinds(r['error_kinds'])} |"
        )
    rows.append("")
    rows.append(
        f"Loopback 127.0.0.1, one uvicorn worker, SQLite (WAL, synchronous=FULL); client and server on "
        f"the same host ({os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.machine()})."
    )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running server on loopback (started with --open-hooks)")
    ap.add_argument("--requests", type=int, default=2000, help="requests per endpoint (max 20000)")
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--max-seconds", type=float, default=60.0, help="time cap per endpoint (max 300)")
    ap.add_argument("--warmup", type=int, default=100, help="warm-up requests per endpoint (>= concurrency)")
    args = ap.parse_args()
    total = max(1, min(args.requests, 20000))
    max_seconds = max(1.0, min(args.max_seconds, 300.0))
    concurrency = max(1, min(args.concurrency, 500))
    proc = None
    with tempfile.TemporaryDirectory(prefix="netcds-bench-") as tmp:
        try:
            if args.url:
                url = loopback_only(args.url)
            else:
                proc, url = start_server(Path(tmp))
                loopback_only(url)
            results = asyncio.run(run(url, total, concurrency, max_seconds, args.warmup))
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=15)
        server_log = Path(tmp) / "server.log"
        if proc is not None and any(r["errors"] for r in results) and server_log.exists():
            lines = server_log.read_text().splitlines()
            errors = [line for line in lines if "ERROR" in line or "WARNING" in line]
            print(
                "server log:\n" + "\n".join(errors[-10:] or ["(no errors logged by the server)"]),
                file=sys.stderr,
            )
    print(table(results, concurrency))


if __name__ == "__main__":
    main()
