"""The cohort is an input, never an output: ``--out`` that is, or is inside, the cohort (or would overwrite it)
is refused before anything is written; typed Parquet values (DECIMAL, UUID, BLOB, INTERVAL) are read or
rejected by column, never a traceback; the progress total of an empty CSV is 0."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import pytest
from typer.testing import CliRunner

from netcds.cli import app
from netcds.cohort.audit import run_audit, validate_to_files
from netcds.cohort.layout import json_default
from netcds.cohort.read import count_rows, iter_rows, validate_typed_columns
from netcds.cohort.synth import synth_records, write_cohort
from netcds.knowledge.schema import Knowledge

from .test_cli_inputs import one_error_line

runner = CliRunner()
DIFF = ["--from", "5.2024-r2", "--to", "5.2024"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A cohort directory of two NDJSON part files, the second ending in a line that is not JSON."""
    d = tmp_path / "same"
    d.mkdir()
    write_cohort(synth_records(6, seed=3), d / "a.ndjson")
    write_cohort(synth_records(4, seed=4), d / "b.ndjson")
    with (d / "b.ndjson").open("a", encoding="utf-8") as fh:
        fh.write("{bad\n")
    return d


def _snapshot(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


# --- 1. --out is never the input -------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", [[], ["--input-format", "ndjson"]])
@pytest.mark.parametrize("out", [".", "sub", "sub/deeper"])
def test_out_that_is_or_lies_inside_the_cohort_folder_is_refused(
    folder: Path, out: str, fmt: list[str]
) -> None:
    before = _snapshot(folder)
    res = runner.invoke(app, ["cohort", "audit", str(folder), "--out", str(folder / out), *fmt])
    line = one_error_line(res)
    assert "--out" in line and "cohort folder" in line and "outside the cohort" in line, line
    assert _snapshot(folder) == before  # nothing written, nothing emptied
    assert not (folder / "sub").exists()


def test_an_output_file_that_is_the_cohort_is_refused_and_the_input_kept(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    write_cohort(synth_records(5, seed=1), d / "rejects.ndjson")
    data = (d / "rejects.ndjson").read_bytes()
    line = one_error_line(runner.invoke(app, ["cohort", "audit", str(d / "rejects.ndjson"), "--out", str(d)]))
    assert "rejects.ndjson would overwrite the cohort" in line, line
    assert (d / "rejects.ndjson").read_bytes() == data  # not emptied before being read
    # a cohort folder named like an output (a Spark decisions.parquet) inside --out: refused too
    (d / "decisions.parquet").mkdir()
    write_cohort(synth_records(3, seed=2), d / "decisions.parquet" / "p.ndjson")
    line = one_error_line(
        runner.invoke(app, ["cohort", "audit", str(d / "decisions.parquet"), "--out", str(d)])
    )
    assert "decisions.parquet would overwrite the cohort" in line, line
    line = one_error_line(
        runner.invoke(app, ["cohort", "audit", str(d / "rejects.ndjson"), "--out", str(d / "rejects.ndjson")])
    )
    assert "is the cohort file" in line, line
    assert (d / "rejects.ndjson").read_bytes() == data


def test_a_cohort_file_beside_the_outputs_is_still_audited(kb: Knowledge, tmp_path: Path) -> None:
    path = tmp_path / "cohort.ndjson"
    write_cohort(synth_records(8, seed=7), path)
    run = run_audit(str(path), tmp_path, kb)  # --out is the folder holding the cohort: no output is it
    assert run.rows_in == 8 and (tmp_path / "rejects.ndjson").exists()


def test_run_audit_refuses_the_same_outputs(kb: Knowledge, folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lies inside the cohort folder"):
        run_audit(str(folder), folder / "out", kb)
    with pytest.raises(ValueError, match=r"--results-uri .* is the cohort folder"):
        run_audit(str(folder), tmp_path / "o", kb, engine="spark", results_uri=str(folder))
    assert not (folder / "out").exists() and not (tmp_path / "o").exists()


@pytest.mark.parametrize("link", [os.link, os.symlink])
def test_no_input_part_is_opened_for_writing_even_through_a_link(
    folder: Path, tmp_path: Path, link: Any
) -> None:
    rejects = tmp_path / "rejects.ndjson"
    link(folder / "b.ndjson", rejects)
    before = _snapshot(folder)
    with pytest.raises(ValueError, match="is a file of the cohort"):
        validate_to_files(folder, tmp_path / "canonical.ndjson", rejects)
    assert _snapshot(folder) == before


def test_diff_out_that_is_the_input_is_refused(folder: Path, tmp_path: Path) -> None:
    before = _snapshot(folder)
    for out in (folder / "changes.ndjson", folder / "a.ndjson"):
        line = one_error_line(runner.invoke(app, ["cohort", "diff", str(folder), *DIFF, "--out", str(out)]))
        assert "lies inside the cohort folder" in line, line
    one = folder / "a.ndjson"
    line = one_error_line(runner.invoke(app, ["cohort", "diff", str(one), *DIFF, "--out", str(one)]))
    assert "is the cohort file" in line, line
    os.link(folder / "a.ndjson", tmp_path / "hard.ndjson")
    line = one_error_line(
        runner.invoke(app, ["cohort", "diff", str(folder), *DIFF, "--out", str(tmp_path / "hard.ndjson")])
    )
    assert "is a file of the cohort" in line, line
    assert _snapshot(folder) == before


# --- 2. typed Parquet values -----------------------------------------------------------------------------
def _typed_parquet(path: Path) -> Path:
    """Flattened rows as JDBC/Spark/SAS exports write them: ki67 a DECIMAL(5,1), the id a UUID; a BLOB and
    an INTERVAL column, each holding a value in one row."""
    duckdb.connect().execute(
        f"""COPY (SELECT * FROM (VALUES
            ('2d5f0e0c-1111-4a4a-9b9b-000000000001'::UUID, 'ileum', 'G2', 12.5::DECIMAL(5,1), NULL::BLOB,
             NULL::INTERVAL, 'ssa'),
            (NULL, 'ileum', 'G2', 30.0::DECIMAL(5,1), NULL, NULL, 'ssa'),
            (NULL, 'ileum', 'G2', 4.0::DECIMAL(5,1), 'ab'::BLOB, NULL, 'ssa'),
            (NULL, 'ileum', 'G2', NULL, NULL, INTERVAL 3 DAY, 'ssa')
        ) t("id", "tumor.primary_site", "tumor.grade", "tumor.ki67_percent", "tumor.grade_report",
            "tumor.ki67_interval", "decision.regimen")) TO '{path}' (FORMAT parquet)"""
    )
    return path


def test_decimal_uuid_blob_and_interval_parquet_columns_are_read_or_rejected_by_column(
    tmp_path: Path,
) -> None:
    rows = list(iter_rows(_typed_parquet(tmp_path / "typed.parquet")))
    (ok1, r1), (ok2, r2), (ok3, r3), (ok4, r4) = rows
    assert r1 is None and ok1 is not None and r2 is None and ok2 is not None, (r1, r2)
    assert ok1["patient_id"] == "2d5f0e0c-1111-4a4a-9b9b-000000000001"
    assert ok1["tumor__ki67_percent"] == 12.5 and ok2["tumor__ki67_percent"] == 30
    assert ok3 is None and r3 is not None and r3["field"] == "tumor.grade_report", r3
    assert "binary value" in r3["message"] and r3["raw"]["tumor.grade_report"] == "<binary value, 2 bytes>"
    assert ok4 is None and r4 is not None and r4["field"] == "tumor.ki67_interval", r4
    assert "interval" in r4["message"] and "INTERVAL" in r4["message"]
    json.dumps([r3, r4])  # a reject is JSON (rejects.ndjson)


def test_a_nested_decimal_parquet_is_audited_without_a_traceback(kb: Knowledge, tmp_path: Path) -> None:
    path = tmp_path / "nested.parquet"
    duckdb.connect().execute(
        f"""COPY (SELECT {{'primary_site': 'pancreas', 'grade': 'G2', 'ki67_percent': 7.5::DECIMAL(5,1)}}
            AS tumor, {{'regimen': 'everolimus'}} AS decision
            UNION ALL SELECT {{'primary_site': 'ileum', 'grade': 'G1', 'ki67_percent': 2::DECIMAL(5,1)}},
            {{'regimen': 'ssa'}}) TO '{path}' (FORMAT parquet)"""
    )
    run = run_audit(str(path), tmp_path / "out", kb)
    assert (run.rows_in, run.results, run.rejects) == (2, 2, 0)
    got = duckdb.connect().execute(
        f"SELECT decision_regimen FROM read_parquet('{tmp_path / 'out' / 'decisions.parquet'}') ORDER BY row_id"
    )
    assert [r[0] for r in got.fetchall()] == ["everolimus", "ssa"]
    assert [ok["tumor__ki67_percent"] for ok, _ in iter_rows(path)] == [7.5, 2]  # type: ignore[index]


def test_any_other_value_type_rejects_the_row_naming_column_and_type() -> None:
    canon, rej = validate_typed_columns(7, {"tumor.grade": "G2", "tumor.ki67_percent": 3j, "decision": None})
    assert canon is None and rej is not None
    assert rej["field"] == "tumor.ki67_percent" and "complex" in rej["message"], rej
    nested = {"tumor": {"ki67_percent": Decimal("Infinity")}, "decision": {"regimen": "ssa"}}
    canon, rej = validate_typed_columns(8, nested)
    assert canon is None and rej is not None and rej["field"] == "tumor.ki67_percent", rej


def test_json_default_writes_decimal_and_uuid() -> None:
    u = UUID("2d5f0e0c-1111-4a4a-9b9b-000000000001")
    text = json.dumps([Decimal("30.0"), Decimal("12.5"), u], default=json_default)
    assert json.loads(text) == [30, 12.5, str(u)] and text.startswith("[30, 12.5")
    with pytest.raises(TypeError):
        json.dumps(b"x", default=json_default)


def test_spark_executor_rows_with_typed_values_are_read_as_on_duckdb() -> None:
    """The Spark reader hands its Parquet rows (Python values: Decimal, bytearray, timedelta) to the same
    validation on the executors; run here without a session."""
    pytest.importorskip("pyspark")
    from netcds.cohort.run_spark import _validate_rows

    base = {"tumor.primary_site": "ileum", "tumor.grade": "G2", "decision.regimen": "ssa"}
    part = [
        (1, "p.parquet", 1, {**base, "tumor.ki67_percent": Decimal("12.5")}),
        (2, "p.parquet", 2, {**base, "tumor.grade_report": bytearray(b"ab")}),
        (3, "p.parquet", 3, {**base, "tumor.ki67_interval": timedelta(days=3)}),
    ]
    tagged = list(_validate_rows(part))
    assert [t[0] for t in tagged] == ["ok", "reject", "reject"], tagged
    rejects = [json.loads(t[1]) if isinstance(t[1], str) else t[1] for t in tagged[1:]]
    assert [r["field"] for r in rejects] == ["tumor.grade_report", "tumor.ki67_interval"], rejects


# --- 3. the progress total of an empty CSV ---------------------------------------------------------------
def test_row_count_of_empty_csv_files_is_not_negative(tmp_path: Path) -> None:
    (tmp_path / "zero.csv").write_bytes(b"")
    assert count_rows(tmp_path / "zero.csv") == 0
    d = tmp_path / "parts"
    d.mkdir()
    write_cohort(synth_records(5, seed=2), d / "a.csv")
    (d / "b.csv").write_bytes(b"")
    assert count_rows(d) == 5 == sum(1 for _ in iter_rows(d))


def test_spark_audit_of_typed_parquet_matches_duckdb_or_names_the_file(kb: Knowledge, tmp_path: Path) -> None:
    """DECIMAL and BLOB on Spark as on DuckDB; a Parquet type Spark's reader refuses (DuckDB's INTERVAL) is
    one line naming the file (exit 2 on the command line), not a traceback."""
    pytest.importorskip("pyspark")
    path = tmp_path / "typed.parquet"
    duckdb.connect().execute(
        f"""COPY (SELECT * FROM (VALUES ('ileum', 'G2', 12.5::DECIMAL(5,1), NULL::BLOB, 'ssa'),
            ('ileum', 'G2', 30.0::DECIMAL(5,1), 'ab'::BLOB, 'ssa')) t("tumor.primary_site", "tumor.grade",
            "tumor.ki67_percent", "tumor.grade_report", "decision.regimen")) TO '{path}' (FORMAT parquet)"""
    )
    runs = {e: run_audit(str(path), tmp_path / e, kb, e, "local[1]") for e in ("duckdb", "spark")}
    assert [(r.rows_in, r.results, r.rejects) for r in runs.values()] == [(2, 1, 1)] * 2
    assert (tmp_path / "duckdb" / "rejects.ndjson").read_text() == (
        tmp_path / "spark" / "rejects.ndjson"
    ).read_text()
    _typed_parquet(tmp_path / "interval.parquet")
    with pytest.raises(ValueError, match=r"interval\.parquet: Spark cannot read it"):
        run_audit(str(tmp_path / "interval.parquet"), tmp_path / "o", kb, "spark", "local[1]")
