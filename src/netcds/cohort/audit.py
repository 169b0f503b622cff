"""One audit run: cohort file -> validated rows -> backend -> results, summary, report.

Outputs in ``out_dir``: ``decisions.parquet`` (one row per decision point; a directory of
part files with Spark), ``rejects.ndjson`` (one line per rejected row: row, file, line, field,
message, errors, raw), ``summary.json``, ``summary.csv``, ``report.html``. A run fails loudly
when rows in != results + rejects. The outputs are written into a temporary folder beside ``out_dir``
and moved into it together at the end (:func:`commit`): an interrupted or failed run leaves ``out_dir``
as it was, with the previous run's outputs.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from netcds.cohort.parts import detect_format, is_part, refuse_overlap
from netcds.cohort.read import dump_json_line, iter_rows
from netcds.cohort.report import summarize, write_html, write_summary
from netcds.io import first_line
from netcds.knowledge.schema import Knowledge

ENGINES = ("duckdb", "spark")
# what an audit writes in --out (``_work`` is removed at the end of a DuckDB run)
OUTPUTS = ("decisions.parquet", "rejects.ndjson", "summary.json", "summary.csv", "report.html", "_work")


@dataclass(frozen=True)
class AuditRun:
    out_dir: Path
    engine: str
    rows_in: int
    results: int
    rejects: int
    summary: dict[str, Any]


class LostRowsError(RuntimeError):
    pass


def _meta(
    kb: Knowledge, engine: str, cohort: str, rows_in: int, results: int, rejects: int
) -> dict[str, Any]:
    return {
        "guideline": {"id": kb.id, "version": kb.version, "release": kb.release, "digest": kb.digest},
        "engine": engine,
        "input": cohort,
        "rows_in": rows_in,
        "results": results,
        "rejects": rejects,
    }


def validate_to_files(
    cohort: Path,
    canonical: Path,
    rejects: Path,
    fmt: str | None = None,
    advance: Callable[[int], None] | None = None,
    first: list[dict[str, Any]] | None = None,
    keep: int = 20,
) -> tuple[int, int]:
    """Validate every row; valid ones to ``canonical`` NDJSON, the others to ``rejects`` (the first ``keep``
    also appended to ``first``, so a caller never reads ``rejects`` back: it may be a pipe). Neither may be
    a part file of ``cohort`` (a ValueError before anything is opened for writing)."""
    for target in (canonical, rejects):
        if is_part(cohort, target):
            raise ValueError(f"{target} is a file of the cohort {cohort}: it is not overwritten with output")
    ok = bad = 0
    with canonical.open("w", encoding="utf-8") as good_fh, rejects.open("w", encoding="utf-8") as bad_fh:
        for row, rej in iter_rows(cohort, fmt):
            if row is not None:
                good_fh.write(dump_json_line(row))
                ok += 1
            else:
                bad_fh.write(dump_json_line(rej))
                if first is not None and rej is not None and bad < keep:
                    first.append(rej)
                bad += 1
            if advance is not None:
                advance(1)
    return ok, bad


def run_audit(
    cohort: str,
    out_dir: Path,
    kb: Knowledge,
    engine: str = "duckdb",
    master: str | None = None,
    fmt: str | None = None,
    progress: Any = None,
    results_uri: str | None = None,
) -> AuditRun:
    """Audit ``cohort`` against ``kb`` with ``engine``; ``progress`` is an optional rich Progress.

    With Spark, ``results_uri`` (e.g. ``s3a://bucket/audit/decisions.parquet``) is where the executors
    write the per-decision results; by default ``out_dir/decisions.parquet``.
    """
    fmt = prepare(cohort, out_dir, engine, fmt, results_uri)
    staging = staging_dir(out_dir)
    try:
        if engine == "duckdb":
            run = _run_duckdb(Path(cohort), staging, kb, fmt, progress)
        else:
            run = _run_spark(cohort, staging, kb, fmt, master, progress, results_uri)
    except BaseException:  # an interrupt (Ctrl-C, SIGTERM) too: nothing of this run is left
        with deferred_signals():
            shutil.rmtree(staging, ignore_errors=True)
        raise
    commit(staging, out_dir)
    return replace(run, out_dir=out_dir)


def prepare(
    cohort: str, out_dir: Path, engine: str, fmt: str | None = None, results_uri: str | None = None
) -> str:
    """The checks before any work (a ValueError or OSError naming the problem) and the cohort's format:
    the engine, a ``results_uri`` only with Spark, a local cohort that exists, the outputs
    (:func:`check_outputs`) and the format (``parts.detect_format``)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine '{engine}' (one of {list(ENGINES)})")
    if results_uri is not None and engine != "spark":
        raise ValueError(RESULTS_URI_SPARK_ONLY)
    _exists(cohort)
    check_outputs(cohort, out_dir, results_uri)
    return detect_format(Path(cohort), fmt)


def staging_dir(out_dir: Path) -> Path:
    """A new empty folder for a run's outputs: beside ``out_dir`` (``.NAME.partial-XXXXXXXX``), or hidden
    inside an existing ``out_dir`` whose parent folder cannot be written (one's own under a shared one)."""
    name, parent = out_dir.absolute().name or "out", out_dir.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    try:
        return _new_folder(parent, name)
    except PermissionError:
        if not out_dir.is_dir():
            raise
        return _new_folder(out_dir, name)


def _new_folder(where: Path, name: str) -> Path:
    for _ in range(100):
        path = where / f".{name}.partial-{secrets.token_hex(4)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "cannot create a temporary folder for the outputs", str(where))


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM are held off for the block (moving the outputs into place, removing a partial
    run): the block is never left half done. One that arrives meanwhile is dropped (the work it would have
    stopped is complete). Outside the main thread (where handlers cannot be set) the block runs as is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda *_: None) for s in held}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)


def _move(src: Path, dst: Path) -> None:
    try:
        src.rename(dst)
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
        shutil.move(src, dst)  # another file system (``out_dir`` a mount point): copied, then removed


def commit(staging: Path, out_dir: Path) -> None:
    """Move a finished run's outputs from ``staging`` into ``out_dir``, all of them or (on an error, put
    back) none, and remove ``staging``; uninterrupted by Ctrl-C/SIGTERM. A new ``out_dir`` is ``staging``
    renamed; in an existing one the outputs of an earlier run (each name in OUTPUTS) are replaced as a set,
    any other file is left alone."""
    with deferred_signals():
        if not out_dir.exists() and not out_dir.is_symlink():
            _move(staging, out_dir)
            return
        out_dir.mkdir(exist_ok=True)
        old = staging / ".replaced"
        old.mkdir()
        put: list[str] = []
        taken: list[str] = []
        try:
            for name in OUTPUTS:
                target = out_dir / name
                if target.exists() or target.is_symlink():
                    _move(target, old / name)
                    taken.append(name)
            for name in OUTPUTS:
                if (staging / name).exists():
                    _move(staging / name, out_dir / name)
                    put.append(name)
        except OSError:  # put back what was moved: the earlier outputs stay a set
            with suppress(OSError):
                for name in put:
                    _move(out_dir / name, staging / name)
                for name in taken:
                    _move(old / name, out_dir / name)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)


RESULTS_URI_SPARK_ONLY = (
    "--results-uri applies to --engine spark (where the executors write decisions.parquet); with DuckDB "
    "the results are written to --out"
)


def check_outputs(cohort: str, out_dir: Path, results_uri: str | None = None) -> None:
    """A ValueError when an output of the audit would be, or be among, its input (``parts.refuse_overlap``):
    ``--out`` (or a local ``--results-uri``) is the cohort or inside its folder, or an output file would
    overwrite the cohort. A URI cohort is not checked (Spark's to list)."""
    if _local(cohort):
        refuse_overlap(Path(cohort), out_dir, "--out", OUTPUTS)
        if results_uri is not None and _local(results_uri):
            refuse_overlap(Path(cohort), Path(results_uri), "--results-uri")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir}: is not a directory; name a folder for the outputs")


def _local(path: str) -> bool:
    """A local path (not a URI such as ``s3a://...``, nor a glob: those are Spark's to resolve)."""
    return len(urlparse(path).scheme) <= 1 and not any(c in path for c in "*?[{")


def _exists(cohort: str) -> None:
    """A local cohort path that is not there is named now, the same for both backends (Spark would fail
    inside a job); a URI (``s3a://...``) or a glob is Spark's to resolve."""
    if _local(cohort) and not Path(cohort).exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), cohort)


def _task(progress: Any, text: str, total: int | None = None) -> Any:
    return progress.add_task(text, total=total) if progress is not None else None


def _done(progress: Any, task: Any) -> None:
    if progress is not None:
        progress.update(
            task, completed=progress.tasks[task].total or 1, total=progress.tasks[task].total or 1
        )


def _finish(
    kb: Knowledge,
    engine_name: str,
    cohort: str,
    out_dir: Path,
    ok: int,
    bad: int,
    results: int,
    query: Callable[[str], list[dict[str, Any]]],
    progress: Any,
) -> AuditRun:
    rows_in = ok + bad
    if results != ok:
        raise LostRowsError(f"{ok} valid rows but {results} results: rows were lost")
    task = _task(progress, "summary and report", 1)
    summary = summarize(query, _meta(kb, engine_name, cohort, rows_in, results, bad))
    write_summary(summary, out_dir)
    write_html(summary, out_dir)
    _done(progress, task)
    return AuditRun(out_dir, engine_name, rows_in, results, bad, summary)


def _run_duckdb(cohort: Path, out_dir: Path, kb: Knowledge, fmt: str, progress: Any) -> AuditRun:
    from netcds.cohort.read import count_rows
    from netcds.cohort.run_duckdb import DuckDBEngine

    work = out_dir / "_work"
    work.mkdir(exist_ok=True)
    total = count_rows(cohort, fmt) if progress is not None else None
    task = _task(progress, "validate rows", total)
    ok, bad = validate_to_files(
        cohort,
        work / "canonical.ndjson",
        out_dir / "rejects.ndjson",
        fmt,
        (lambda n: progress.advance(task, n)) if progress is not None else None,
    )
    _done(progress, task)
    engine = DuckDBEngine()
    try:
        task = _task(progress, "evaluate (DuckDB SQL)", 1)
        engine.load_canonical(work / "canonical.ndjson")
        engine.audit(kb)
        engine.write_parquet("results", out_dir / "decisions.parquet")
        _done(progress, task)
        run = _finish(
            kb, "duckdb", str(cohort), out_dir, ok, bad, engine.count("results"), engine.query, progress
        )
    finally:
        engine.close()
        shutil.rmtree(work, ignore_errors=True)
    return run


def _run_spark(
    cohort: str,
    out_dir: Path,
    kb: Knowledge,
    fmt: str,
    master: str | None,
    progress: Any,
    results_uri: str | None,
) -> AuditRun:
    from pyspark.errors import AnalysisException
    from pyspark.sql import SparkSession

    from netcds.cohort.run_spark import SparkEngine, spark_session

    task = _task(progress, "start Spark", 1)
    ours = SparkSession.getActiveSession() is None  # stop only a session this run started
    spark = spark_session(master)
    _done(progress, task)
    engine = SparkEngine(spark)
    try:
        task = _task(progress, "validate rows (Spark executors)", 1)
        try:
            ok, rejects = engine.load_cohort(cohort, fmt)
        except AnalysisException as exc:  # e.g. a Parquet type Spark cannot read (DuckDB's INTERVAL, UUID)
            raise ValueError(f"{cohort}: Spark cannot read it ({first_line(exc)})") from None
        if _local(cohort) and is_part(Path(cohort), out_dir / "rejects.ndjson"):
            raise ValueError(f"{out_dir / 'rejects.ndjson'} is a file of the cohort {cohort}: not written")
        with (out_dir / "rejects.ndjson").open("w", encoding="utf-8") as fh:
            fh.writelines(rejects)
        _done(progress, task)
        task = _task(progress, "evaluate (Spark SQL)", 1)
        engine.audit(kb)
        engine.write_parquet("results", results_uri or str(out_dir / "decisions.parquet"))
        _done(progress, task)
        return _finish(
            kb, "spark", cohort, out_dir, ok, len(rejects), engine.count("results"), engine.query, progress
        )
    finally:
        engine.close()
        if ours:
            spark.stop()
