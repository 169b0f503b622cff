"""Cohort input gaps: one field given by two columns (nested and flattened) is refused, never merged; a
folder inside a cohort folder is refused, never skipped; a CSV number is a plain decimal or its row is a
reject naming the column; ``cohort diff`` keeps its rejects (rows in = compared + rejects)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from netcds.cli import app
from netcds.cohort.audit import run_audit
from netcds.cohort.diff import diff_versions
from netcds.cohort.read import (
    count_rows,
    flat_to_nested,
    iter_rows,
    validate_csv_cells,
    validate_typed_columns,
)
from netcds.cohort.synth import synth_records, write_cohort
from netcds.errors import InputError
from netcds.knowledge.load import load_knowledge
from netcds.knowledge.schema import Knowledge

from .test_cli_inputs import one_error_line

runner = CliRunner()
FIXTURES = Path(__file__).parent.parent / "fixtures" / "knowledge"
DIFF = ["--from", "5.2024", "--to", "0.0-diff", "--to-root", str(FIXTURES)]
ENGINES = ["duckdb", "spark"]


def _engine(engine: str) -> None:
    if engine == "spark":
        pytest.importorskip("pyspark")


# --- 1. one field in two columns: refused naming both, never one merged into or over the other -----------
CLASH_CSV = "id,tumor,tumor.ki67_percent,tumor.primary_site,decision.regimen\np1,,40,ileum,everolimus\n"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_csv_header_giving_a_field_inside_another_column_is_refused(tmp_path: Path, engine: str) -> None:
    _engine(engine)  # refused before Spark starts: both backends read the same check
    single = tmp_path / "clash.csv"
    single.write_text(CLASH_CSV, encoding="utf-8")
    parts = tmp_path / "parts"
    parts.mkdir()
    for name in ("a.csv", "b.csv"):
        (parts / name).write_text(CLASH_CSV, encoding="utf-8")
    for cohort, name in ((single, "clash.csv"), (parts, "a.csv")):
        out = tmp_path / f"o-{cohort.name}"
        res = runner.invoke(app, ["cohort", "audit", str(cohort), "--engine", engine, "--out", str(out)])
        line = one_error_line(res)
        assert name in line and "the CSV header" in line, line
        assert "the columns 'tumor' (column 2) and 'tumor.ki67_percent' (column 3) both give" in line, line
        assert not out.exists()
    with pytest.raises(ValueError, match=r"both give tumor\.ki67_percent"):
        count_rows(single)


def _clash_parquet(path: Path) -> Path:
    """A nested ``tumor`` struct holding ki67_percent 5 beside a flattened ``tumor.ki67_percent`` of 40."""
    duckdb.connect().execute(
        "COPY (SELECT {'primary_site': 'ileum', 'grade': 'G2', 'ki67_percent': 5} AS tumor, "
        '40 AS "tumor.ki67_percent", '
        "{'regimen': 'everolimus'} AS decision) "
        f"TO '{path}' (FORMAT parquet)"
    )
    return path


@pytest.mark.parametrize("engine", ENGINES)
def test_a_parquet_file_giving_a_field_nested_and_flattened_is_refused(tmp_path: Path, engine: str) -> None:
    _engine(engine)
    path = _clash_parquet(tmp_path / "clash.parquet")
    out = tmp_path / "o"
    line = one_error_line(
        runner.invoke(app, ["cohort", "audit", str(path), "--engine", engine, "--out", str(out)])
    )
    assert (
        "clash.parquet: the Parquet columns: the columns 'tumor' (column 1) and 'tumor.ki67_percent'" in line
    )
    assert not out.exists()
    with pytest.raises(ValueError, match=r"both give tumor\.ki67_percent"):
        list(iter_rows(path))


def test_a_row_giving_a_field_twice_is_a_reject_naming_both_columns() -> None:
    """What the header and schema checks cannot see (a cohort Spark lists from a URI, a caller of the
    readers) is a reject per row, whatever the cells hold: 40 never overwrites 5, nor the other way."""
    rec: dict[str, Any] = {
        "tumor": {"primary_site": "ileum", "grade": "G2", "ki67_percent": 5},
        "tumor.ki67_percent": 40,
        "decision": {"regimen": "everolimus"},
    }
    for cells in (rec, dict(reversed(rec.items()))):
        canon, rej = validate_typed_columns(3, cells)
        assert canon is None and rej is not None
        assert rej["field"] == "tumor.ki67_percent", rej
        assert "the columns 'tumor' and 'tumor.ki67_percent' both give" in rej["message"], rej
    canon, rej = validate_csv_cells(
        1, ["decision", "decision.regimen", "tumor.primary_site"], ["", "everolimus", "ileum"]
    )
    assert canon is None and rej is not None and rej["field"] == "decision.regimen", rej
    with pytest.raises(InputError, match=r"both give tumor\.grade"):
        flat_to_nested({"tumor.grade": "G1", "tumor": "{}"})


def test_spark_reading_a_uri_rejects_each_clashing_row(kb: Knowledge, tmp_path: Path) -> None:
    """A ``file://`` URI is Spark's to list (no check before it reads): every row is a reject naming the
    field, and rows in = results + rejects."""
    pytest.importorskip("pyspark")
    path = _clash_parquet(tmp_path / "clash.parquet")
    run = run_audit(path.as_uri(), tmp_path / "o", kb, "spark", "local[1]")
    assert (run.rows_in, run.results, run.rejects) == (1, 0, 1)
    (rej,) = [json.loads(x) for x in (tmp_path / "o" / "rejects.ndjson").read_text().splitlines()]
    assert rej["field"] == "tumor.ki67_percent" and "'tumor' and 'tumor.ki67_percent'" in rej["message"]


# --- 2. a folder inside a cohort folder: refused naming it, never skipped ---------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_a_folder_inside_the_cohort_folder_is_refused_not_skipped(tmp_path: Path, engine: str) -> None:
    _engine(engine)
    d = tmp_path / "cohort"
    (d / "year=2024").mkdir(parents=True)
    write_cohort(synth_records(3, seed=1), d / "a.ndjson")
    write_cohort(synth_records(4, seed=2), d / "year=2024" / "part.ndjson")
    out = tmp_path / "o"
    line = one_error_line(
        runner.invoke(app, ["cohort", "audit", str(d), "--engine", engine, "--out", str(out)])
    )
    assert "holds the folder(s) year=2024" in line and "not read" in line, line
    assert not out.exists()
    line = one_error_line(runner.invoke(app, ["cohort", "diff", str(d), *DIFF]))
    assert "holds the folder(s) year=2024" in line, line
    with pytest.raises(ValueError, match="year=2024"):
        count_rows(d)


def test_folders_named_with_underscore_or_dot_are_not_parts_and_a_broken_link_is_refused(
    kb: Knowledge, tmp_path: Path
) -> None:
    d = tmp_path / "cohort"
    for name in ("_temporary", ".ipynb_checkpoints"):
        (d / name).mkdir(parents=True)
        write_cohort(synth_records(2, seed=9), d / name / "x.ndjson")
    write_cohort(synth_records(3, seed=1), d / "a.ndjson")
    assert count_rows(d) == 3 and run_audit(str(d), tmp_path / "o", kb).rows_in == 3
    os.symlink(d / "gone.ndjson", d / "b.ndjson")
    with pytest.raises(ValueError, match=r"b\.ndjson in the cohort folder is not a regular file"):
        count_rows(d)


# --- 3. a CSV number is a plain decimal --------------------------------------------------------------------
HEADER = ["tumor.primary_site", "tumor.grade", "tumor.ki67_percent", "decision.regimen"]


@pytest.mark.parametrize(
    "cell", ["1_0", " 1e1", "12 ", "inf", "-Infinity", "nan", "0x10", "１２", "1,5", "1e"]
)
def test_a_csv_number_that_is_not_a_plain_decimal_is_a_reject_naming_the_column(cell: str) -> None:
    canon, rej = validate_csv_cells(1, HEADER, ["ileum", "G2", cell, "everolimus"])
    assert canon is None and rej is not None, cell
    assert rej["field"] == "tumor.ki67_percent" and "not a plain decimal number" in rej["message"], rej
    assert rej["raw"]["tumor.ki67_percent"] == cell


@pytest.mark.parametrize(("cell", "value"), [("10", 10), ("+2.5", 2.5), ("-0", 0), (".5", 0.5), ("5.", 5),
                                             ("1E1", 10), ("2.5e-1", 0.25)])  # fmt: skip
def test_plain_decimals_are_read(cell: str, value: float) -> None:
    canon, rej = validate_csv_cells(1, HEADER, ["ileum", "G2", cell, "everolimus"])
    assert rej is None and canon is not None and canon["tumor__ki67_percent"] == value


def test_a_number_out_of_range_is_a_reject_too() -> None:
    canon, rej = validate_csv_cells(1, HEADER, ["ileum", "G2", "1e999", "everolimus"])
    assert canon is None and rej is not None and rej["field"] == "tumor.ki67_percent", rej


def test_csv_numbers_are_read_alike_on_duckdb_and_spark(kb: Knowledge, tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    path = tmp_path / "n.csv"
    cells = ["10", "1_0", "１２", " 5", "2.5e1", "nan"]
    path.write_text(
        ",".join(HEADER) + "\n" + "".join(f"ileum,G2,{c},everolimus\n" for c in cells), encoding="utf-8"
    )
    runs = {e: run_audit(str(path), tmp_path / e, kb, e, "local[1]") for e in ENGINES}
    assert [(r.rows_in, r.results, r.rejects) for r in runs.values()] == [(6, 2, 4)] * 2
    texts = [(tmp_path / e / "rejects.ndjson").read_text() for e in ENGINES]
    assert texts[0] == texts[1]
    assert [json.loads(x)["line"] for x in texts[0].splitlines()] == [2, 3, 4, 6]


# --- 4. cohort diff keeps its rejects ---------------------------------------------------------------------
def _cohort_with_rejects(tmp_path: Path) -> Path:
    d = tmp_path / "cohort"
    d.mkdir()
    write_cohort(synth_records(30, seed=3), d / "a.ndjson")
    write_cohort(synth_records(20, seed=4), d / "b.ndjson")
    with (d / "b.ndjson").open("a", encoding="utf-8") as fh:
        fh.write("{bad\n")
        fh.write('{"tumor": {"primary_site": "ileum"}}\n')
    return d


def test_diff_writes_every_reject_and_rows_in_equal_compared_plus_rejects(tmp_path: Path) -> None:
    d = _cohort_with_rejects(tmp_path)
    rejects, changes = tmp_path / "rejects.ndjson", tmp_path / "changes.ndjson"
    res = runner.invoke(
        app, ["cohort", "diff", str(d), *DIFF, "--out", str(changes), "--rejects", str(rejects)]
    )
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "(52 rows in = 50 compared + 2 rejects)" in text, text
    assert f"wrote 2 rejects to {rejects}" in text
    lines = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert [(r["row"], r["file"], r["line"], r["field"]) for r in lines] == [
        (51, "b.ndjson", 21, "<row>"),
        (52, "b.ndjson", 22, "decision"),
    ]
    assert all(r["raw"] is not None and r["errors"] for r in lines)
    result = diff_versions(d, load_knowledge("5.2024"), load_knowledge("0.0-diff", root=FIXTURES), keep=1)
    assert (result.rows_in, result.compared, result.rejects) == (52, 50, 2)
    assert [r["row"] for r in result.first_rejects] == [51]


def test_diff_without_rejects_file_shows_them_and_says_how_to_write_them(tmp_path: Path) -> None:
    d = _cohort_with_rejects(tmp_path)
    res = runner.invoke(app, ["cohort", "diff", str(d), *DIFF])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "2 rows rejected, not compared: --rejects FILE writes every one" in text, text
    assert "b.ndjson" in text and "decision" in text


def test_diff_rejects_file_is_checked_like_out(tmp_path: Path) -> None:
    d = _cohort_with_rejects(tmp_path)
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    diff = ["cohort", "diff", str(d), *DIFF]
    line = one_error_line(runner.invoke(app, [*diff, "--rejects", str(d / "r.ndjson")]))
    assert "--rejects" in line and "cohort folder" in line, line
    line = one_error_line(runner.invoke(app, [*diff, "--rejects", str(tmp_path)]))
    assert "--rejects" in line and "is a directory" in line, line
    same = str(tmp_path / "x.ndjson")
    line = one_error_line(runner.invoke(app, [*diff, "--out", same, "--rejects", same]))
    assert "is the --out file" in line, line
    one = d / "a.ndjson"
    line = one_error_line(runner.invoke(app, ["cohort", "diff", str(one), *DIFF, "--rejects", str(one)]))
    assert "--rejects" in line and "cohort file" in line, line
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before
    assert not (tmp_path / "x.ndjson").exists()
