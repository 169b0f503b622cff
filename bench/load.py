"""Mixed-load benchmark: N requests (evaluate, patient-view, order-sign) at concurrency C, over loopback.

Starts its own ``netcds serve`` (open hooks, a temporary SQLite file, 127.0.0.1 only), warms it up,
then sends N requests in a fixed deterministic mix, one third per endpoint, each built from one of
D distinct generated patients (seeded: the same run sends the same requests), and prints a markdown
table: throughput, p50/p99 latency (whole response read), errors, and the server's peak resident
memory (VmHWM from /proc/<pid>/status). Bounded in requests (max 100,000) and time (--max-seconds).

    .venv/bin/python bench/load.py                          # N=10,000, C=64, D=1,000
    .venv/bin/python bench/load.py --n 300 --concurrency 16 # CI-sized
    .venv/bin/python bench/load.py --cache-mb 0             # the evaluation cache off (default: 32 MiB)
"""

from __future__ import annotations

import os
import sys

# bench/http.py sits next to this file: drop this folder from the path so `import http` gets the stdlib
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import asyncio
import json
import platform
import random
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.append(os.path.dirname(os.path.abspath(__file__)))  # after the stdlib: bench/loopclient.py
from loopclient import (
    Connection,
    address,
    close_all,
    cpu_seconds,
    drive,
    encode,
    get_json,
    peak_rss_mb,
    quantiles_ms,
    start_server,
)

KINDS = ("evaluate", "patient-view", "order-sign")
PATHS = {
    "evaluate": "/api/v1/evaluate",
    "patient-view": "/cds-services/netcds-patient-view",
    "order-sign": "/cds-services/netcds-order-sign",
}
LOINC, SNOMED, ICD10 = "http://loinc.org", "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM, UCUM = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://unitsofmeasure.org"
SITES = ["ileum", "jejunum", "duodenum", "small_bowel", "stomach", "appendix", "cecum", "rectum", "pancreas",
         "lung", "thymus", "unknown_primary"]  # fmt: skip
SITE_CODES = ["C7A.012", "C7A.011", "C7A.010", "C7A.019", "C7A.092", "C7A.026", "C25.4", "C7A.090"]
HISTORIES: list[list[dict[str, Any]]] = [
    [],
    [{"agent": "octreotide_lar", "dose_mg": 30, "interval_days": 28, "start": "2023-01-10",
      "end": "2024-03-02", "progressed": True, "stop_reason": "progression"}],
    [{"agent": "lanreotide", "dose_mg": 120, "interval_days": 28, "start": "2022-05-01", "end": None}],
    [{"agent": "octreotide_lar", "start": "2021-02-01", "end": "2022-06-01", "progressed": True},
     {"agent": "everolimus", "start": "2022-07-01", "end": "2023-09-01", "progressed": True,
      "stop_reason": "progression"}],
    [{"agent": "capecitabine_temozolomide", "start": "2023-03-01", "end": "2023-12-01", "progressed": True}],
]  # fmt: skip


# --- deterministic, varied inputs ---------------------------------------------------------------------------
def contract_patient(rng: random.Random, n: int) -> dict[str, Any]:
    site = rng.choice(SITES)
    well = rng.random() < 0.85
    tumor: dict[str, Any] = {"primary_site": site, "differentiation": "well" if well else "poor"}
    if site in ("lung", "thymus") and well:
        tumor["lung_subtype"] = rng.choice(["typical_carcinoid", "atypical_carcinoid"])
    else:
        tumor["grade"] = rng.choice(["G1", "G2", "G3"]) if well else "G3"
        tumor["ki67_percent"] = round(rng.uniform(0.5, 60.0 if well else 90.0), 1)
    for key in ("sstr_status",):
        if rng.random() < 0.8:
            tumor[key] = rng.choice(["positive", "negative"])
    if rng.random() < 0.5:
        tumor["functional"] = rng.random() < 0.3
    disease: dict[str, Any] = {
        "extent": rng.choice(["localized", "locoregional", "distant_metastatic", "distant_metastatic"]),
        "status": rng.choice(["stable", "progressive"]),
    }
    if disease["extent"] != "distant_metastatic":
        disease["resectable"] = rng.random() < 0.5
    if rng.random() < 0.6:
        disease["tumor_burden"] = rng.choice(["mild", "clinically_significant", "bulky"])
    rec: dict[str, Any] = {
        "id": f"load-{n}",
        "age_years": rng.randint(25, 88),
        "sex": rng.choice(["female", "male"]),
        "weight_kg": round(rng.uniform(45, 110), 1),
        "tumor": tumor,
        "disease": disease,
        "treatments": rng.choice(HISTORIES),
    }
    if rng.random() < 0.3:
        rec["comorbidities"] = {
            "hypertension": rng.choice(["none", "controlled", "uncontrolled"]),
            "diabetes": rng.random() < 0.3,
        }
    return rec


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def _obs(oid: str, code: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final", "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2025-03-01", "code": {"coding": [{"system": LOINC, "code": code}]}, **value}  # fmt: skip


def prefetch(rng: random.Random) -> dict[str, Any]:
    year = rng.randint(1940, 1995)
    status_code = rng.choice(["271299001", "359746009", "268910001"])  # worse, stable, improved
    return {
        "patient": {
            "resourceType": "Patient",
            "id": "p1",
            "gender": rng.choice(["female", "male"]),
            "birthDate": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        },
        "conditions": _bundle(
            {
                "resourceType": "Condition",
                "id": "c-net",
                "subject": {"reference": "Patient/p1"},
                "code": {"coding": [{"system": ICD10, "code": rng.choice(SITE_CODES)}]},
            },
            {
                "resourceType": "Condition",
                "id": "c-liver",
                "subject": {"reference": "Patient/p1"},
                "code": {"coding": [{"system": ICD10, "code": "C7B.02"}]},
            },
        ),
        "observations": _bundle(
            _obs(
                "o-ki67",
                "29593-1",
                {
                    "valueQuantity": {
                        "value": round(rng.uniform(0.5, 40), 1),
                        "unit": "%",
                        "system": UCUM,
                        "code": "%",
                    }
                },
            ),
            _obs(
                "o-weight",
                "29463-7",
                {
                    "valueQuantity": {
                        "value": round(rng.uniform(45, 110), 1),
                        "unit": "kg",
                        "system": UCUM,
                        "code": "kg",
                    }
                },
            ),
            _obs(
                "o-status",
                "97509-4",
                {"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": status_code}]}},
            ),
        ),
        "medicationRequests": None,
        "medicationStatements": None,
    }


def draft(rng: random.Random) -> dict[str, Any]:
    mg = rng.choice([20, 40, 60])
    return {
        "resourceType": "MedicationRequest", "id": "draft-cabo", "status": "draft", "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM,
                                                  "display": f"cabozantinib {mg} MG Oral Tablet [Cabometyx]"}]},
        "dosageInstruction": [{"text": f"{mg} mg by mouth once daily",
                               "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                               "doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg", "system": UCUM,
                                                                 "code": "mg"}}]}],
    }  # fmt: skip


def hook(kind: str, pf: dict[str, Any], order: dict[str, Any] | None) -> dict[str, Any]:
    ctx: dict[str, Any] = {"userId": "Practitioner/bench", "patientId": "p1"}
    if order is not None:
        ctx["draftOrders"] = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]}
    return {"hook": kind, "hookInstance": str(uuid.UUID(int=random.getrandbits(128))), "context": ctx,
            "prefetch": pf}  # fmt: skip


def workload(n: int, distinct: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """``n`` (kind, body) pairs, kinds in turn, each from one of ``distinct`` patients picked at random."""
    rng = random.Random(seed)
    random.seed(seed)  # hook instance ids
    patients = [contract_patient(rng, i) for i in range(distinct)]
    prefetches = [prefetch(rng) for _ in range(distinct)]
    drafts = [draft(rng) for _ in range(distinct)]
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(n):
        kind = KINDS[i % 3]
        j = rng.randrange(distinct)
        if kind == "evaluate":
            out.append((kind, patients[j]))
        else:
            out.append((kind, hook(kind, prefetches[j], drafts[j] if kind == "order-sign" else None)))
    return out


def _record_key(body: dict[str, Any]) -> bytes:
    """What makes a request new to the server's caches: the patient record (a hook's prefetch)."""
    return json.dumps(body.get("prefetch", body), sort_keys=True).encode()


# --- the server -----------------------------------------------------------------------------------------------
async def run(
    url: str,
    n: int,
    concurrency: int,
    distinct: int,
    seed: int,
    max_seconds: float,
    pid: int,
    trace: Path | None = None,
) -> dict[str, Any]:
    _, _, netloc = address(url)
    pool: list[Connection] = []  # opened by the warm-up, reused by the measured run

    def encoded(work: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, bytes]]:
        return [(kind, encode(netloc, "POST", PATHS[kind], body)) for kind, body in work]

    # the measured requests are built first: built after the warm-up, a large --distinct took longer
    # than the server's keep-alive timeout and the warm connections were closed under the client
    plan = workload(n, distinct, seed)
    work = encoded(plan)
    warm = encoded(workload(max(3 * concurrency, 30), distinct, seed + 1))
    await drive(url, warm, concurrency, max_seconds, pool)
    server_cpu, client_cpu = cpu_seconds(pid), time.process_time()
    rows: list[tuple[int, str, float, float, str]] | None = [] if trace else None
    lat, errs, wall = await drive(url, work, concurrency, max_seconds, pool, rows)
    server_cpu, client_cpu = cpu_seconds(pid) - server_cpu, time.process_time() - client_cpu
    close_all(pool)
    if trace and rows is not None:
        first: set[tuple[str, bytes]] = set()
        with trace.open("w") as out:
            out.write("position,kind,start_s,latency_ms,status,first_of_kind\n")
            for pos, kind, start, latency, status in sorted(rows, key=lambda r: r[2]):
                key = (kind, _record_key(plan[pos][1]))
                new = key not in first
                first.add(key)
                out.write(f"{pos},{kind},{start:.4f},{latency * 1000:.2f},{status},{int(new)}\n")
    for kind in KINDS:
        lat.setdefault(kind, [])
        errs.setdefault(kind, {})
    health = await get_json(url, "/api/v1/health")
    return {"latencies": lat, "errors": errs, "wall": wall, "health": health, "server_cpu": server_cpu,
            "client_cpu": client_cpu}  # fmt: skip


def table(
    res: dict[str, Any], concurrency: int, distinct: int, rss: float | None, cache_mb: int, workers: int
) -> str:
    lat, errs, wall = res["latencies"], res["errors"], res["wall"]
    rows = [
        "| endpoint | requests | throughput (req/s) | p50 (ms) | p99 (ms) | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    everything: list[float] = []
    total_errors = 0
    for kind in KINDS:
        p50, p99 = quantiles_ms(lat[kind])
        n_err = sum(errs[kind].values())
        total_errors += n_err
        everything += lat[kind]
        detail = " (" + ", ".join(f"{k}: {v}" for k, v in sorted(errs[kind].items())) + ")" if n_err else ""
        rows.append(f"| `POST {PATHS[kind]}` | {len(lat[kind])} | {len(lat[kind]) / wall:.0f} | {p50:.1f} | "
                    f"{p99:.1f} | {n_err}{detail} |")  # fmt: skip
    p50, p99 = quantiles_ms(everything)
    rows.append(f"| **all** | {len(everything)} | {len(everything) / wall:.0f} | {p50:.1f} | {p99:.1f} | "
                f"{total_errors} |")  # fmt: skip
    cache = res["health"].get("eval_cache") or {}
    hits = f", {cache.get('hits', 0)} hits / {cache.get('misses', 0)} misses" if cache else ""
    kinds = cache.get("kinds") or {}
    if kinds:  # the answering worker's: hits / shared hits / misses, kept of budget
        hits += (
            " (one worker: "
            + "; ".join(
                f"{k} {v['hits']}/{v['shared_hits']}/{v['misses']}, {v['kept_bytes'] / 2**20:.1f} of "
                f"{v['budget_bytes'] / 2**20:.0f} MiB"
                for k, v in kinds.items()
            )
            + ")"
        )
    rows += [
        "",
        f"Concurrency {concurrency}; {distinct} distinct patients (seeded); mix: one third per endpoint; "
        f"wall time {wall:.1f} s; server peak RSS (VmHWM, all processes) "
        + (f"{rss:.0f} MiB" if rss is not None else "n/a")
        + f"; evaluation cache {cache_mb} MiB{hits}; CPU per request: server "
        f"{res['server_cpu'] / max(1, len(everything)) * 1000:.1f} ms, client "
        f"{res['client_cpu'] / max(1, len(everything)) * 1000:.1f} ms.",
        f"Loopback 127.0.0.1, `netcds serve --workers {workers}` (uvicorn), SQLite WAL synchronous=FULL with "
        f"group commit, open hooks; "
        f"client on the same host ({os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.machine()}).",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000, help="requests in the measured run (max 100,000)")
    ap.add_argument("--concurrency", type=int, default=64, help="requests in flight (max 512)")
    ap.add_argument("--distinct", type=int, default=1000, help="distinct generated patients")
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument(
        "--max-seconds", type=float, default=600.0, help="time cap of the measured run (max 1800)"
    )
    ap.add_argument("--cache-mb", type=int, default=32, help="server evaluation cache, MiB (0 = off)")
    ap.add_argument("--workers", type=int, default=2, help="server worker processes")
    ap.add_argument("--trace", type=Path, help="write one CSV row per measured request to this file")
    args = ap.parse_args(argv)
    n = max(1, min(args.n, 100_000))
    concurrency = max(1, min(args.concurrency, 512))
    distinct = max(1, min(args.distinct, 100_000))
    max_seconds = max(1.0, min(args.max_seconds, 1800.0))
    with tempfile.TemporaryDirectory(prefix="netcds-load-") as tmp:
        cache = {"NETCDS_EVAL_CACHE_MB": str(args.cache_mb)} if args.cache_mb is not None else {}
        proc, url = start_server(Path(tmp), max(1, min(args.workers, 16)), cache)
        try:
            res = asyncio.run(
                run(url, n, concurrency, distinct, args.seed, max_seconds, proc.pid, args.trace)
            )
            rss = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        errors = sum(sum(e.values()) for e in res["errors"].values())
        if errors:
            lines = (Path(tmp) / "server.log").read_text().splitlines()
            print(
                "server log (last errors):\n" + "\n".join([ln for ln in lines if "ERROR" in ln][-10:]),
                file=sys.stderr,
            )
    print(table(res, concurrency, distinct, rss, args.cache_mb, max(1, min(args.workers, 16))))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
