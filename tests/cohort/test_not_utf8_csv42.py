"""Bytes that are not UTF-8 in a CSV cohort: the row holding them is a reject naming its column (row and
line counted in the file, never a position in some block of it), the run goes on, and rows in = results +
rejects, on DuckDB and Spark alike (Spark reads CSV itself: it decodes such bytes as U+FFFD, as the DuckDB
reader does, and hands the row to the same ``validate_csv_cells``). A header that is not UTF-8 stops the
run naming the file and the column. NDJSON lines were already rejected one by one (test_rejects.py,
test_equivalence_spark.py); a gzipped one is checked here too."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from netcds.cli import app
from netcds.cohort.audit import run_audit
from netcds.cohort.parts import detect_format
from netcds.cohort.read import iter_rows
from netcds.cohort.synth import synth_records
from netcds.knowledge.schema import Knowledge

from .test_cli_inputs import one_error_line

runner = CliRunner()
HEADER = b"id,tumor.primary_site,tumor.grade,disease.extent,decision.regimen"
GOOD = b"p%d,ileum,G2,distant_metastatic,everolimus"
# (data row, bytes, the field of its reject, the character of the cell holding U+FFFD); row 0 is the header
DAMAGED = {
    2: (b"p\xff2,ileum,G2,distant_metastatic,everolimus", "id", 2),
    3: (b'p3,"ile\xc3um",G2,,everolimus', "tumor.primary_site", 4),
    # a byte that is not UTF-8 in a cell the header does not name: the row, not a column
    4: (b"p4,ileum,G2,distant_metastatic,everolimus,\xe9", "<row>", 1),
}
N = 400  # rows: the last damaged one lies far beyond the first block a text reader decodes (8 KiB)
LATE = 380


def _cohort_bytes() -> bytes:
    rows = [HEADER]
    for i in range(1, N + 1):
        if i in DAMAGED:
            rows.append(DAMAGED[i][0])
        elif i == LATE:
            rows.append(b"p%d,ileum,G2,distant_metastatic,\xffeverolimus" % i)
        else:
            rows.append(GOOD % i)
    return b"\n".join(rows) + b"\n"


def _rejects(path: Path) -> list[dict[str, Any]]:
    return [rej for _, rej in iter_rows(path) if rej is not None]


def _expected() -> list[tuple[int, int, str, int]]:
    want = [(row, row, field, at) for row, (_, field, at) in DAMAGED.items()]
    return [*want, (LATE, LATE, "decision.regimen", 1)]


@pytest.mark.parametrize("name", ["c.csv", "c.csv.gz"])
def test_a_byte_that_is_not_utf8_rejects_its_row_naming_the_column(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    data = _cohort_bytes()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    rows = list(iter_rows(path))
    rejects = [r for _, r in rows if r is not None]
    assert len(rows) == N and len(rejects) == len(_expected())
    for rej, (row, line, field, at) in zip(rejects, _expected(), strict=True):
        assert (rej["row"], rej["file"], rej["line"], rej["field"]) == (row, name, line, field), rej
        assert rej["message"].startswith("not UTF-8 text"), rej
        assert f"U+FFFD at character {at} of " in rej["message"], rej
    assert "which the header does not name" in rejects[2]["message"]
    assert rejects[2]["raw"]["<extra cells>"] == ["\ufffd"]


def test_the_audit_goes_on_and_counts_every_row(kb: Knowledge, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(_cohort_bytes())
    res = runner.invoke(app, ["cohort", "audit", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert (summary["rows_in"], summary["results"], summary["rejects"]) == (N, N - 4, 4)
    lines = (tmp_path / "o" / "rejects.ndjson").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["line"] for x in lines] == [2, 3, 4, LATE]


def test_a_header_that_is_not_utf8_stops_the_run_naming_file_and_column(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(b"id,tumor.primary_\xffsite,decision.regimen\np1,ileum,everolimus\n")
    with pytest.raises(ValueError, match=r"h\.csv: the CSV header is not UTF-8 text \(column 2"):
        detect_format(path)
    with pytest.raises(ValueError, match=r"the CSV header is not UTF-8 text \(column 2"):
        list(iter_rows(path, "csv"))  # a reader stands alone (the format given, no detect_format check)
    res = runner.invoke(app, ["cohort", "audit", str(path), "--out", str(tmp_path / "o")])
    assert "column 2" in one_error_line(res)
    assert not (tmp_path / "o").exists()


def test_a_gzipped_ndjson_line_that_is_not_utf8_is_one_reject(tmp_path: Path) -> None:
    lines = [json.dumps(r).encode() for r in synth_records(3, seed=2)]
    lines[1] = lines[1].replace(b'"id": "', b'"id": "\xff', 1)
    path = tmp_path / "c.ndjson.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    rows = list(iter_rows(path))
    rejects = [r for _, r in rows if r is not None]
    assert len(rows) == 3 and [(r["row"], r["field"]) for r in rejects] == [(2, "<row>")]
    assert rejects[0]["message"].startswith("not UTF-8 text")


def test_spark_rejects_the_same_csv_rows_as_duckdb(spark_engine: Any, kb: Knowledge, tmp_path: Path) -> None:
    """Spark's CSV reader (not the Python one) reads the file; the rejects are the DuckDB reader's, word
    for word, and the valid rows are the same number."""
    path = tmp_path / "c.csv"
    path.write_bytes(_cohort_bytes())
    valid, lines = spark_engine.load_cohort(str(path), "csv")
    spark_engine.close()
    got = sorted((json.loads(x) for x in lines), key=lambda r: r["row"])
    assert valid == N - 4
    assert got == _rejects(path)
    duck = run_audit(str(path), tmp_path / "o", kb, "duckdb")
    assert (duck.rows_in, duck.results, duck.rejects) == (N, valid, len(got))
