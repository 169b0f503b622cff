"""Cohort audit throughput: the per-patient engine vs DuckDB vs Spark (local), on SYNTHETIC decision points.

    .venv/bin/python bench/cohort.py --sizes 1e5,1e6,1e7 [--engines engine,duckdb,spark] [--sample 2000]

The cohort is generated inside DuckDB (netcds.cohort.synth_sql), in chunks, into a file-backed
database, so 1e8 rows never sit in Python. Every size is a prefix of the same cohort.

Measured (wall clock, after a warm-up run that is not counted; DuckDB modes run ``--repeat`` times
and report the best and the median, sizes above ``--repeat-max`` once, without warm-up; DuckDB modes
also report this process's median CPU time per decision point, all threads together: on a shared
machine it moves far less than wall time, so it is the figure to compare variants with. At 2 M
decision points/s on 2 cores each may cost at most 1.0 µs of CPU):

- engine: ``reference_result`` (``netcds.evaluate`` + the verdict) on ``--sample`` rows, one by
  one; larger sizes are EXTRAPOLATED from that rate (printed as such).
- duckdb results: the audit of every decision point materialized as a table (setting, per-option
  status and category lists, verdict, failing condition, chosen tier/category), in DuckDB's own
  representation (the words as ENUMs: the same values when read or written out).
- duckdb parquet: the same written to a Parquet file (the public ``decisions.parquet`` columns,
  without the expanded ``options``), when ``--parquet`` is given.
- duckdb summary: the audit aggregated to verdict counts per setting (what a concordance report needs).
- duckdb +options: results plus the expanded ``options`` list of structs, written to Parquet.
- spark results / summary: the same SQL in Spark local mode over the cohort as Parquet
  (``noop`` sink for results: the query runs fully, nothing is written).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from netcds import load_knowledge
from netcds.cohort.layout import Decision, record_from_canonical
from netcds.cohort.query import AuditQuery
from netcds.cohort.synth_sql import create_table_sql, generate_sql
from netcds.cohort.verdict import reference_result
from netcds.patient import Patient


def _n(text: str) -> int:
    return int(float(text))


def _fmt(n: float) -> str:
    return f"{n:,.0f}"


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def cpu_seconds() -> float:
    """CPU time of this process (all DuckDB threads): steadier than wall time on a shared machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.kb = load_knowledge()
        self.work = Path(args.workdir)
        self.work.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(self.work / "bench.duckdb"))
        self.con.execute(f"SET threads = {args.threads}")
        self.con.execute(f"SET memory_limit = '{args.memory_limit}'")
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute(f"SET temp_directory = '{self.work / 'tmp'}'")
        if args.block_allocator:  # DuckDB keeps this much buffer memory instead of returning it to the OS
            self.con.execute(f"SET block_allocator_memory = '{args.block_allocator}'")
        self.rows: list[dict[str, Any]] = []
        self.engine_rate: float | None = None

    def generate(self, n: int) -> None:
        have = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'decisions_all'"
        ).fetchone()
        count = 0
        if have and have[0]:
            got = self.con.execute("SELECT count(*) FROM decisions_all").fetchone()
            count = int(got[0]) if got else 0
        if count >= n:
            return
        if count == 0:
            self.con.execute(create_table_sql("decisions_all"))
        t0 = time.perf_counter()
        chunk = _n(self.args.chunk)
        for start in range(count, n, chunk):
            self.con.execute(
                f"INSERT INTO decisions_all {generate_sql(start, min(chunk, n - start), self.args.seed)}"
            )
            print(f"  generated {_fmt(min(start + chunk, n))} rows", file=sys.stderr, flush=True)
        self.con.execute("CHECKPOINT")
        print(f"  generation: {time.perf_counter() - t0:.1f}s (not counted)", file=sys.stderr)

    def source(self, n: int) -> str:
        return f"(SELECT * FROM decisions_all WHERE row_id <= {n})"

    def timed_duckdb(self, sql: str, n: int, before: str | None = None) -> tuple[float, float, float]:
        """(best, median) wall seconds and median CPU seconds of ``sql``; ``before`` runs untimed
        ahead of every run."""
        repeat = self.args.repeat if n <= _n(self.args.repeat_max) else 1
        times, cpus = [], []
        for i in range(repeat + (1 if repeat > 1 else 0)):
            if before:
                self.con.execute(before)
            c0, t0 = cpu_seconds(), time.perf_counter()
            self.con.execute(sql)
            if i or repeat == 1:  # the first of several is the warm-up
                times.append(time.perf_counter() - t0)
                cpus.append(cpu_seconds() - c0)
        return min(times), statistics.median(times), statistics.median(cpus)

    def duckdb(self, n: int) -> list[tuple[str, float, float, float]]:
        q = AuditQuery(self.kb, "duckdb")
        core = q.sql(self.source(n), expand=False)
        out = []
        drop = "DROP TABLE IF EXISTS results"
        out.append(("results", *self.timed_duckdb(f"CREATE TEMP TABLE results AS {core}", n, drop)))
        self.con.execute(drop)
        summary = f"SELECT setting_table, setting_column, verdict, count(*) AS n FROM ({core}) GROUP BY ALL"
        out.append(("summary", *self.timed_duckdb(f"CREATE OR REPLACE TEMP TABLE summary AS {summary}", n)))
        if self.args.parquet:
            path = self.work / "results.parquet"
            out.append(("parquet", *self.timed_duckdb(f"COPY ({core}) TO '{path}' (FORMAT parquet)", n)))
            path.unlink(missing_ok=True)
        if n <= _n(self.args.expanded_max):
            path = self.work / "expanded.parquet"
            full = q.sql(self.source(n), expand=True)
            out.append(("+options", *self.timed_duckdb(f"COPY ({full}) TO '{path}' (FORMAT parquet)", n)))
            path.unlink(missing_ok=True)
        return out

    def engine(self) -> float:
        if self.engine_rate is None:
            rows = self.con.execute(
                f"SELECT * FROM decisions_all WHERE row_id <= {self.args.sample} ORDER BY row_id"
            ).fetchall()
            names = [d[0] for d in self.con.description or []]
            records = [record_from_canonical(dict(zip(names, r, strict=True))) for r in rows]
            items = [
                (
                    Patient.model_validate({k: v for k, v in rec.items() if k != "decision"}),
                    Decision.model_validate(rec["decision"]),
                )
                for rec in records
            ]
            for i, (p, d) in enumerate(items[:50]):  # warm-up (caches, lazy loads)
                reference_result(i, p, d, self.kb)
            t0 = time.perf_counter()
            for i, (p, d) in enumerate(items):
                reference_result(i, p, d, self.kb)
            self.engine_rate = len(items) / (time.perf_counter() - t0)
        return self.engine_rate

    def spark(self, n: int) -> list[tuple[str, float, float, float]]:
        from netcds.cohort.run_spark import spark_session

        path = self.work / f"spark_{n}.parquet"
        if not path.exists():
            self.con.execute(f"COPY {self.source(n)} TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 500000)")
        spark = getattr(self, "_spark", None)
        if spark is None:
            spark = self._spark = spark_session(
                f"local[{self.args.threads}]", "netcds-bench",
                {"spark.driver.memory": self.args.spark_memory, "spark.sql.shuffle.partitions": "4"},
            )  # fmt: skip
        sql = AuditQuery(self.kb, "spark").sql("decisions", expand=False)
        spark.read.parquet(str(path)).createOrReplaceTempView("decisions")
        if not getattr(self, "_warm", False):  # JIT and planning warm-up, not counted
            spark.sql(sql).limit(1000).write.format("noop").mode("overwrite").save()
            self._warm = True
        out = []
        t0 = time.perf_counter()
        spark.sql(sql).write.format("noop").mode("overwrite").save()
        secs = time.perf_counter() - t0
        out.append(("results", secs, secs, float("nan")))  # the JVM's CPU time is not this process's
        t0 = time.perf_counter()
        spark.sql(
            f"SELECT setting_table, setting_column, verdict, count(*) AS n FROM ({sql}) GROUP BY ALL"
        ).collect()
        secs = time.perf_counter() - t0
        out.append(("summary", secs, secs, float("nan")))
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e5,1e6,1e7")
    ap.add_argument("--engines", default="engine,duckdb,spark")
    ap.add_argument("--sample", type=int, default=2000, help="rows timed through the per-patient engine")
    ap.add_argument("--spark-max", default="1e7", help="largest size run on Spark")
    ap.add_argument("--expanded-max", default="1e6", help="largest size also written with the options list")
    ap.add_argument("--repeat", type=int, default=3, help="timed DuckDB runs per mode (after one warm-up)")
    ap.add_argument("--repeat-max", default="1e7", help="larger sizes run once, without warm-up")
    ap.add_argument("--parquet", action="store_true", help="also time the results written to Parquet")
    ap.add_argument(
        "--block-allocator", default="", help="DuckDB block_allocator_memory (e.g. 4GB); off by default"
    )
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--memory-limit", default="16GB", help="DuckDB memory limit")
    ap.add_argument("--spark-memory", default="6g", help="Spark driver memory (local mode)")
    ap.add_argument("--chunk", default="5e6", help="rows generated per INSERT")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", default="/tmp/netcds-cohort-bench")
    ap.add_argument("--keep", action="store_true", help="keep the generated database")
    args = ap.parse_args()
    sizes = [_n(s) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    b = Bench(args)
    b.generate(max(sizes))
    print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
    results: list[tuple[int, str, str, float, float, float, float]] = []
    rate = b.engine() if "engine" in engines else None
    for n in sizes:
        if rate:
            results.append(
                (
                    n,
                    "per-patient engine",
                    f"extrapolated from {args.sample} rows" if n > args.sample else "measured",
                    n / rate,
                    n / rate,
                    rate,
                    float("nan"),
                )
            )
        if "duckdb" in engines:
            for mode, best, median, cpu in b.duckdb(n):
                results.append((n, "DuckDB", mode, best, median, n / best, cpu / n * 1e6))
                print(
                    f"  {_fmt(n)} duckdb {mode}: {best:.2f}s (median {median:.2f}s, CPU {cpu / n * 1e6:.3f} µs/row)",
                    file=sys.stderr,
                    flush=True,
                )
        if "spark" in engines and n <= _n(args.spark_max):
            for mode, best, median, cpu in b.spark(n):
                results.append((n, "Spark local", mode, best, median, n / best, cpu))
                print(f"  {_fmt(n)} spark {mode}: {best:.2f}s", file=sys.stderr, flush=True)
        if getattr(b, "_spark", None) is not None and n >= max(s for s in sizes if s <= _n(args.spark_max)):
            b._spark.stop()  # free the JVM's memory before the larger DuckDB-only sizes
            b._spark = None
    try:
        import pyspark

        spark_version = pyspark.__version__
    except ImportError:
        spark_version = "not installed"
    print(
        f"\nnetcds cohort audit, {b.kb.id} {b.kb.version}; {platform.machine()} {os.cpu_count()} cores, "
        f"threads {args.threads}; DuckDB {duckdb.__version__} (memory limit {args.memory_limit}"
        f"{', block allocator ' + args.block_allocator if args.block_allocator else ''}), "
        f"Spark {spark_version} (driver memory {args.spark_memory}); synthetic cohort (seed {args.seed}); "
        f"peak RSS of this process (Python + DuckDB) {peak_rss_gib():.1f} GiB; "
        f"load average (5 min) at the end {os.getloadavg()[1]:.1f}\n"
    )
    print(
        "| decision points | engine | measured | seconds (best) | seconds (median) | decision points/s (best)"
        " | CPU µs per decision point (median) | × per-patient |"
    )
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    for n, eng, mode, best, median, r, cpu in results:
        speedup = f"{r / rate:,.0f}×" if rate and eng != "per-patient engine" else ""
        cpu_text = "" if math.isnan(cpu) else f"{cpu:.3f}"  # NaN: not measured
        print(
            f"| {_fmt(n)} | {eng} | {mode} | {best:,.2f} | {median:,.2f} | {_fmt(r)} | {cpu_text} | {speedup} |"
        )
    b.con.close()
    if not args.keep:
        shutil.rmtree(b.work, ignore_errors=True)


if __name__ == "__main__":
    main()
