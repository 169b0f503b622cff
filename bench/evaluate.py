"""Single-patient evaluation speed, in-process: median and p99 over N varied patients.

usage: python bench/evaluate.py [--n 10000] [--seed 7] [--json]
Patients are generated with the test suite's hypothesis strategy (valid, many unknowns),
validated once up front; the timed call is `evaluate(patient, kb)` only, and separately
the full path from JSON text (parse + validate + evaluate + serialize).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from tests.strategies import patients

import netcds.engine.core as core
from netcds import Patient, evaluate, load_knowledge
from netcds.io import read_patient_json


def generate(n: int, seed: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []

    @hypothesis_seed(seed)
    @settings(max_examples=n, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(patients())
    def collect(record: dict[str, object]) -> None:
        if len(out) < n:
            out.append(record)

    collect()
    while len(out) < n:  # hypothesis may stop early on small spaces: cycle
        out.extend(out[: n - len(out)])
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    kb = load_knowledge()
    records = generate(a.n, a.seed)
    pts = [Patient.model_validate(r) for r in records]
    texts = [json.dumps(r) for r in records]
    for p in pts[:200]:  # warm-up
        evaluate(p, kb)
    # long-lived objects (knowledge, the 10k test patients) are moved out of the collector's way,
    # as a server does after start-up; otherwise full GC passes over them dominate the tail
    gc.collect()
    gc.freeze()
    engine: list[float] = []
    engine_cpu: list[float] = []
    core_cpu: list[float] = []
    for p in pts:
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        evaluate(p, kb)
        engine_cpu.append((time.thread_time_ns() - c0) / 1000)
        engine.append((time.perf_counter_ns() - t0) / 1000)
    original = core.attach_layers
    core.attach_layers = lambda ev, *args, **kw: ev  # type: ignore[assignment]
    try:
        for p in pts:
            c0 = time.thread_time_ns()
            evaluate(p, kb)
            core_cpu.append((time.thread_time_ns() - c0) / 1000)
    finally:
        core.attach_layers = original
    full: list[float] = []
    full_cpu: list[float] = []
    for t in texts:
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        evaluate(read_patient_json(t), kb).model_dump_json()
        full_cpu.append((time.thread_time_ns() - c0) / 1000)
        full.append((time.perf_counter_ns() - t0) / 1000)

    def stats(xs: list[float]) -> dict[str, float]:
        return {"median": statistics.median(xs), "p99": pct(xs, 99), "max": max(xs)}

    res: dict[str, object] = {
        "n": len(pts),
        "python": platform.python_version(),
        "load_average": os.getloadavg()[0],
        "guideline_only_cpu_us": stats(core_cpu),
        "engine_cpu_us": stats(engine_cpu),
        "engine_wall_us": stats(engine),
        "json_to_json_cpu_us": stats(full_cpu),
        "json_to_json_wall_us": stats(full),
    }
    if a.json:
        print(json.dumps(res, indent=2))
        return
    print(
        f"n = {res['n']} varied patients, Python {res['python']}, 1-min load average {res['load_average']:.1f}\n"
    )
    print("| path | clock | median (µs) | p99 (µs) | max (µs) |\n|---|---|---|---|---|")
    rows = (
        ("guideline_only_cpu_us", "guideline tables only (no sequencing/safety)", "CPU"),
        ("engine_cpu_us", "evaluate(patient, kb) with sequencing + safety", "CPU"),
        ("engine_wall_us", "evaluate(patient, kb) with sequencing + safety", "wall"),
        ("json_to_json_cpu_us", "JSON in -> validate -> evaluate -> JSON out", "CPU"),
        ("json_to_json_wall_us", "JSON in -> validate -> evaluate -> JSON out", "wall"),
    )
    for key, label, clock in rows:
        r = res[key]
        assert isinstance(r, dict)
        print(f"| {label} | {clock} | {r['median']:.0f} | {r['p99']:.0f} | {r['max']:.0f} |")


if __name__ == "__main__":
    main()
