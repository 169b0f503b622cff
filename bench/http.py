"""HTTP benchmark: throughput and p50/p99 latency of the running service over loopback.

Drives ``POST /api/v1/evaluate`` and the ``patient-view`` CDS hook at a fixed
concurrency (default 100) for a bounded number of requests and a bounded time,
then prints a markdown table. Loopback only: a non-127.0.0.1 URL is refused.

    .venv/bin/python bench/http.py                      # starts its own server (open hooks, temp SQLite)
    .venv/bin/python bench/http.py --distinct           # a different patient in every request (cold)
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
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from netcds.api.examples import PATIENT_EXAMPLE

sys.path.append(os.path.dirname(os.path.abspath(__file__)))  # after the stdlib: bench/loopclient.py
from loopclient import Connection, address, close_all, cpu_seconds, drive, encode, quantiles_ms, start_server

EVALUATE, PATIENT_VIEW = "/api/v1/evaluate", "/cds-services/netcds-patient-view"

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


def hook_body(variant: int | None = None) -> dict[str, Any]:
    """A patient-view call (a fresh hookInstance); ``variant`` n gives patient n a record of its own."""
    prefetch = PREFETCH
    if variant is not None:
        prefetch = copy.deepcopy(PREFETCH)
        prefetch["patient"]["id"] = f"p{variant}"
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/bench", "patientId": prefetch["patient"]["id"]},
        "prefetch": prefetch,
    }


def loopback_only(url: str) -> str:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing {url}: the benchmark only talks to a loopback address")
    return url.rstrip("/")


def requests_for(netloc: str, path: str, n: int, distinct: bool, offset: int) -> list[tuple[str, bytes]]:
    """``n`` encoded requests to ``path``: the same patient each time, or (``distinct``) a new one each."""
    out = []
    for i in range(n):
        v = offset + i if distinct else None
        if path == EVALUATE:
            body: dict[str, Any] = PATIENT if v is None else {**PATIENT, "id": f"bench-{v}"}
        else:
            body = hook_body(v)
        out.append((path, encode(netloc, "POST", path, body)))
    return out


async def run(
    url: str, total: int, concurrency: int, max_seconds: float, warmup: int, distinct: bool, pid: int | None
) -> list[dict[str, Any]]:
    _, _, netloc = address(url)
    out = []
    for n, path in enumerate((EVALUATE, PATIENT_VIEW)):
        offset = (n + 1) * 1_000_000
        # warm-up: opens the keep-alive connections the measured run reuses (different patients when
        # distinct, so the measured run starts cold)
        pool: list[Connection] = []
        warm = requests_for(netloc, path, max(warmup, concurrency), distinct, offset)
        await drive(url, warm, concurrency, max_seconds, pool)
        work = requests_for(netloc, path, total, distinct, offset + 100_000)
        cpu0, client0 = cpu_seconds(pid) if pid else 0.0, time.process_time()
        lat, errors, wall = await drive(url, work, concurrency, max_seconds, pool)
        close_all(pool)
        server_ms = (cpu_seconds(pid) - cpu0) / max(1, len(lat[path])) * 1000 if pid else None
        client_ms = (time.process_time() - client0) / max(1, len(lat[path])) * 1000
        p50, p99 = quantiles_ms(lat[path])
        out.append({"path": path, "n": len(lat[path]), "wall": wall, "rps": len(lat[path]) / wall,
                    "p50": p50, "p99": p99, "errors": sum(errors[path].values()),
                    "error_kinds": errors[path], "server_ms": server_ms, "client_ms": client_ms})  # fmt: skip
    return out


def _kinds(kinds: dict[str, int]) -> str:
    return " (" + ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items())) + ")" if kinds else ""


def table(results: list[dict[str, Any]], concurrency: int, workers: int | None, distinct: bool) -> str:
    rows = [
        "| endpoint | patients | requests | concurrency | throughput (req/s) | p50 (ms) | p99 (ms) | errors "
        "| CPU/request server, client (ms) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    who = "a new one per request" if distinct else "the same one"
    for r in results:
        name = "POST " + r["path"]
        rows.append(
            f"| `{name}` | {who} | {r['n']} | {concurrency} | {r['rps']:.0f} | {r['p50']:.1f} | "
            f"{r['p99']:.1f} | {r['errors']}{_kinds(r['error_kinds'])} | "
            + (f"{r['server_ms']:.2f}" if r["server_ms"] is not None else "n/a")
            + f", {r['client_ms']:.2f} |"
        )
    rows.append("")
    server = f"{workers} worker process(es)" if workers else "a server started separately"
    rows.append(
        f"Loopback 127.0.0.1, `netcds serve` with {server}, SQLite (WAL, synchronous=FULL, group commit); "
        f"every call audited (patient-view also stores its evaluation); client and server on the same host "
        f"({os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.machine()})."
    )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running server on loopback (started with --open-hooks)")
    ap.add_argument("--requests", type=int, default=2000, help="requests per endpoint (max 20000)")
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--max-seconds", type=float, default=60.0, help="time cap per endpoint (max 300)")
    ap.add_argument("--warmup", type=int, default=200, help="warm-up requests per endpoint (>= concurrency)")
    ap.add_argument("--workers", type=int, default=2, help="server worker processes (when it starts one)")
    ap.add_argument(
        "--distinct", action="store_true", help="a different patient in every request (nothing cached)"
    )
    args = ap.parse_args()
    total = max(1, min(args.requests, 20000))
    max_seconds = max(1.0, min(args.max_seconds, 300.0))
    concurrency = max(1, min(args.concurrency, 500))
    workers = max(1, min(args.workers, 16))
    proc = None
    with tempfile.TemporaryDirectory(prefix="netcds-bench-") as tmp:
        try:
            if args.url:
                url = loopback_only(args.url)
            else:
                proc, url = start_server(Path(tmp), workers)
                loopback_only(url)
            pid = proc.pid if proc is not None else None
            results = asyncio.run(run(url, total, concurrency, max_seconds, args.warmup, args.distinct, pid))
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
    print(table(results, concurrency, None if args.url else workers, args.distinct))


if __name__ == "__main__":
    main()
