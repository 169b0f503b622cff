"""The Spark SQL audit (local mode) reproduces the per-patient engine exactly, like DuckDB does.

One Spark session for the module; a few thousand rows. Skipped only when pyspark is not installed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyspark")

from netcds.cohort.read import detect_format, iter_rows
from netcds.cohort.run_spark import SparkEngine, spark_session
from netcds.cohort.synth import synth_records
from netcds.knowledge.schema import Knowledge

from .helpers import (
    canonical_rows,
    derived_sql,
    derived_values,
    engine_derived,
    generated_records,
    history_records,
    mismatches,
    reference,
    thoracic_grading_records,
    write_parts,
)


@pytest.fixture(scope="module")
def engine() -> Iterator[SparkEngine]:
    spark = spark_session(
        "local[2]",
        "netcds-cohort-tests",
        {"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"},
    )
    yield SparkEngine(spark)
    spark.stop()


def audit_spark(engine: SparkEngine, records: list[dict[str, Any]], kb: Knowledge) -> list[dict[str, Any]]:
    engine.load_rows(canonical_rows(records))
    engine.audit(kb)
    try:
        return engine.rows()
    finally:
        engine.close()


def test_spark_matches_engine_on_synthetic_cohort(engine: SparkEngine, kb: Knowledge) -> None:
    records = list(synth_records(2500, seed=11, off_guideline=0.3, missing=0.2))
    got = audit_spark(engine, records, kb)
    problems = mismatches(got, reference(records, kb), records)
    assert not problems, "\n".join(problems[:5])
    assert {r["verdict"] for r in got} >= {
        "concordant",
        "listed_not_eligible",
        "needs_data",
        "not_listed",
        "no_systemic_indicated",
        "out_of_scope",
    }


def test_spark_matches_engine_on_generated_patients(engine: SparkEngine, kb: Knowledge) -> None:
    batch = generated_records(1500)
    got = audit_spark(engine, batch, kb)
    problems = mismatches(got, reference(batch, kb), batch)
    assert not problems, "\n".join(problems[:5])


def test_spark_matches_engine_on_treatment_histories(engine: SparkEngine, kb: Knowledge) -> None:
    """What a needs_data verdict waits for, down to a treatment line's field, as in the engine (and DuckDB)."""
    from .test_verdicts import MISSING_CASES

    records = history_records(800, seed=2) + [c[1] for c in MISSING_CASES]
    want = reference(records, kb)
    problems = mismatches(audit_spark(engine, records, kb), want, records)
    assert not problems, "\n".join(problems[:5])
    assert [
        want[len(records) - len(MISSING_CASES) + i + 1]["missing_fields"] for i in range(len(MISSING_CASES))
    ] == [c[2] for c in MISSING_CASES]


def test_spark_grades_lung_and_thymus_without_ki67_like_the_engine(
    engine: SparkEngine, kb: Knowledge
) -> None:
    """Ki-67 grades a digestive primary but not a lung/thymus carcinoid, in Spark SQL as in the engine."""
    records = thoracic_grading_records()
    engine.load_rows(canonical_rows(records))
    try:
        assert derived_values(engine.query(derived_sql("spark"))) == engine_derived(records)
    finally:
        engine.close()
    problems = mismatches(audit_spark(engine, records, kb), reference(records, kb), records)
    assert not problems, "\n".join(problems[:5])


def test_spark_undetermined_setting_gives_no_negative(engine: SparkEngine, kb: Knowledge) -> None:
    """Under an undetermined setting a verdict that holds only if the setting applies is needs_data, on
    Spark as in the engine (tests/cohort/test_verdicts.py has the cases, checked there on DuckDB)."""
    from .test_verdicts import UNDETERMINED_CASES, undetermined_expected, verdict_fields

    records = [c[1] for c in UNDETERMINED_CASES]
    got = audit_spark(engine, records, kb)
    assert not mismatches(got, reference(records, kb), records)
    by_row = {int(r["row_id"]): r for r in got}
    assert [verdict_fields(by_row[i + 1]) for i in range(len(records))] == [
        undetermined_expected(i) for i in range(len(records))
    ]


def test_spark_validates_on_executors_and_loses_no_row(
    engine: SparkEngine, kb: Knowledge, tmp_path: Path
) -> None:
    good = list(synth_records(40, seed=3))
    lines = [json.dumps(r) for r in good]
    lines.insert(5, '{"tumor": {"primary_site": "ileum"}, "decision": {"regimen": "aspirin"}}')
    lines.insert(9, "{not json")
    lines.insert(12, "")
    path = tmp_path / "cohort.ndjson"
    path.write_text("\n".join(lines) + "\n")
    valid, rejects = engine.load_cohort(str(path), detect_format(path))
    engine.audit(kb)
    assert valid == 40 and engine.count("results") == 40
    rows = sorted(json.loads(r)["row"] for r in rejects)
    assert rows == [6, 10]
    assert {(json.loads(r)["file"], json.loads(r)["line"]) for r in rejects} == {
        ("cohort.ndjson", 6),
        ("cohort.ndjson", 10),
    }
    assert {json.loads(r)["field"] for r in rejects} == {"decision.regimen", "<row>"}
    engine.close()


@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_spark_audit_reads_columnar_files_like_duckdb(
    engine: SparkEngine, kb: Knowledge, tmp_path: Path, ext: str
) -> None:
    """The whole audit on Spark (files read and validated on the executors) equals the DuckDB audit."""
    from netcds.cohort.audit import run_audit
    from netcds.cohort.synth import write_cohort

    path = tmp_path / f"cohort.{ext}"
    write_cohort(synth_records(300, seed=17, missing=0.2), path)
    spark_run = run_audit(str(path), tmp_path / "spark", kb, engine="spark")
    duck_run = run_audit(str(path), tmp_path / "duck", kb, engine="duckdb")
    assert spark_run.rows_in == duck_run.rows_in == 300
    for key in (
        "verdicts",
        "by_setting",
        "chosen",
        "reasons",
        "by_year",
        "by_site",
        "by_regimen",
        "out_of_scope",
        "concordance",
        "duplicates",
    ):
        assert spark_run.summary[key] == duck_run.summary[key], key
    assert engine.spark.sparkContext._jsc is not None  # the shared session was not stopped


@pytest.mark.parametrize("ext", ["ndjson", "csv", "parquet"])
def test_spark_rejects_name_the_part_file_and_line_like_duckdb(
    engine: SparkEngine, tmp_path: Path, ext: str
) -> None:
    """Read on the executors, a directory's rejects name the part file and the line in it, as the
    DuckDB reader does, and (but for CSV, numbered in Spark's split order) the same row."""
    records = list(synth_records(25, seed=21))
    for i in (4, 10 + 6):
        records[i] = {**records[i], "decision": {"regimen": "aspirin"}}
    cohort = write_parts(records, tmp_path / "cohort", ext, [10, 15])
    valid, lines = engine.load_cohort(str(cohort), ext)
    engine.close()
    assert valid == 23
    got = sorted((r["file"], r["line"], r["row"], r["field"]) for r in map(json.loads, lines))
    want = sorted((r["file"], r["line"], r["row"], r["field"]) for _, r in iter_rows(cohort) if r is not None)
    blank = 1 if ext == "ndjson" else 0  # an NDJSON part after the first starts with a blank line
    assert [w[:2] for w in want] == [(f"part-1.{ext}", 5), (f"part-2.{ext}", blank + 7)]
    if ext == "csv":
        got, want = [g[:2] + g[3:] for g in got], [w[:2] + w[3:] for w in want]
    assert got == want


def test_spark_rejects_csv_rows_with_more_or_fewer_cells_like_duckdb(
    engine: SparkEngine, tmp_path: Path
) -> None:
    """Spark's CSV reader would drop a row's extra cells and make missing ones null; the row is the same
    reject as on DuckDB (row, file, line, field, message and the cells as read)."""
    path = tmp_path / "c.csv"
    path.write_text(
        "id,tumor.primary_site,disease.extent,decision.regimen\n"
        "p1,ileum,distant_metastatic,everolimus\n"
        "p2,ileum\n"
        'p3,"ileum",distant_metastatic,everolimus,"x\ny"\n'
        "p4,ileum,,everolimus\n",
        encoding="utf-8",
    )
    valid, lines = engine.load_cohort(str(path), "csv")
    engine.close()
    want = [r for _, r in iter_rows(path) if r is not None]
    got = sorted((json.loads(r) for r in lines), key=lambda r: r["row"])
    assert valid == 2 and [r["message"] for r in want] == [
        "2 fewer cell(s) than the header",
        "1 more cell(s) than the header",
    ]
    assert got == want


def test_spark_rejects_the_same_non_utf8_lines_as_duckdb(engine: SparkEngine, tmp_path: Path) -> None:
    """A byte that is not UTF-8 inside a free-text field (the record id) would reach Spark as U+FFFD and
    pass validation; both readers reject the line, with the same words. A byte-order mark before the
    first line is no reject for either."""
    records = [json.dumps(r).encode() for r in synth_records(4, seed=5)]
    records[0] = b"\xef\xbb\xbf" + records[0]
    records[2] = records[2].replace(b'"id": "', b'"id": "\xff', 1)
    path = tmp_path / "c.ndjson"
    path.write_bytes(b"\n".join(records) + b"\n")
    valid, lines = engine.load_cohort(str(path), "ndjson")
    engine.close()
    want = [r for _, r in iter_rows(path) if r is not None]
    got = [json.loads(r) for r in lines]
    assert valid == 3 and len(got) == len(want) == 1
    assert got[0]["row"] == want[0]["row"] == 3 and got[0]["field"] == want[0]["field"] == "<row>"
    assert got[0]["message"] == want[0]["message"]
    assert want[0]["message"].startswith("not UTF-8 text") and "character 9" in want[0]["message"]
