"""CSV cells are read as written (docs/cohort.md, the CSV layout): a bool is ``true`` or ``false`` in any
letter case (``TRUE``, ``True``: as spreadsheets write them), a number a plain decimal, a cell of only spaces
empty (unknown), a JSON cell JSON text (JSON whitespace around it is JSON's); any other cell of a known field
with spaces around its value (``" ileum"``, ``"p1 "``, ``" true "``, ``"2024-01-01 "``, a decision cell)
and any other bool spelling (``yes``, ``1``, ``t``) rejects the row naming the column. The same on Spark,
whose CSV reader hands its cells to the same validation."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from netcds.cohort.read import iter_rows, validate_csv_cells

HEADER = [
    "id", "tumor.primary_site", "tumor.grade", "tumor.necrosis", "disease.extent", "disease.status_date",
    "tumor.syndromes", "decision.regimen", "decision.date",
]  # fmt: skip
BASE = [
    "p1",
    "ileum",
    "G2",
    "false",
    "distant_metastatic",
    "2024-01-01",
    '["carcinoid_syndrome"]',
    "everolimus",
    "2024-05-01",
]


def _cells(**change: str) -> list[str]:
    cells = dict(zip(HEADER, BASE, strict=True))
    cells.update({k.replace("__", "."): v for k, v in change.items()})
    return [cells[h] for h in HEADER]


@pytest.mark.parametrize(("cell", "value"), [("true", True), ("TRUE", True), ("True", True), ("fAlSe", False),
                                             ("FALSE", False)])  # fmt: skip
def test_a_bool_is_true_or_false_in_any_letter_case(cell: str, value: bool) -> None:
    canon, rej = validate_csv_cells(1, HEADER, _cells(tumor__necrosis=cell))
    assert rej is None and canon is not None and canon["tumor__necrosis"] is value


@pytest.mark.parametrize("cell", ["yes", "no", "1", "0", "t", "f", "TRUE.", "ｔｒｕｅ"])
def test_any_other_bool_spelling_is_a_reject_naming_the_column(cell: str) -> None:
    canon, rej = validate_csv_cells(1, HEADER, _cells(tumor__necrosis=cell))
    assert canon is None and rej is not None
    assert rej["field"] == "tumor.necrosis" and rej["message"].startswith(f"not true or false ({cell!r})"), (
        rej
    )


@pytest.mark.parametrize(
    "column",
    [
        "id",
        "tumor.primary_site",
        "tumor.necrosis",
        "disease.status_date",
        "decision.regimen",
        "decision.date",
    ],
)
@pytest.mark.parametrize("pad", [(" ", ""), ("", " "), ("\t", "\t"), ("", "\u00a0")])
def test_spaces_around_a_cell_reject_the_row_naming_the_column(column: str, pad: tuple[str, str]) -> None:
    cells = dict(zip(HEADER, BASE, strict=True))
    cells[column] = pad[0] + cells[column] + pad[1]
    canon, rej = validate_csv_cells(1, HEADER, list(cells.values()))
    assert canon is None and rej is not None
    assert rej["field"] == column and rej["message"].startswith("leading or trailing whitespace"), rej
    assert rej["raw"][column] == cells[column]  # the cell as written


def test_a_cell_of_only_spaces_is_unknown_and_json_whitespace_is_json() -> None:
    canon, rej = validate_csv_cells(
        1, HEADER, _cells(tumor__grade="   ", tumor__syndromes=' [ "carcinoid_syndrome" ] ')
    )
    assert rej is None and canon is not None
    assert canon["tumor__grade"] is None and canon["tumor__syndromes"] == ["carcinoid_syndrome"]


def _file(path: Path) -> Path:
    rows = [
        _cells(),
        _cells(tumor__necrosis="TRUE"),
        _cells(tumor__necrosis=" true"),
        _cells(tumor__necrosis="yes"),
        _cells(tumor__primary_site="ileum "),
        _cells(id=" p6", decision__regimen=" everolimus"),
        _cells(tumor__grade="  "),
    ]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([HEADER, *rows])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_a_file_counts_every_row(tmp_path: Path) -> None:
    rows = list(iter_rows(_file(tmp_path / "c.csv")))
    rejects = [(r["line"], r["field"]) for _, r in rows if r is not None]
    assert len(rows) == 7
    assert rejects == [(3, "tumor.necrosis"), (4, "tumor.necrosis"), (5, "tumor.primary_site"), (6, "id")]


def test_spark_reads_the_cells_alike(spark_engine: Any, tmp_path: Path) -> None:
    path = _file(tmp_path / "c.csv")
    valid, lines = spark_engine.load_cohort(str(path), "csv")
    spark_engine.close()
    got = sorted((json.loads(x) for x in lines), key=lambda r: r["row"])
    want = [r for _, r in iter_rows(path) if r is not None]
    assert valid == 3 and [(r["row"], r["field"], r["message"]) for r in got] == [
        (r["row"], r["field"], r["message"]) for r in want
    ]
