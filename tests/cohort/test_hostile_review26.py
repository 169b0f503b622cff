"""Hostile input, review 26: time-zoned Parquet timestamps, CSV cells over Python's csv limit, lone
surrogate escapes, bare CR and non-JSON whitespace in NDJSON: every row a result or a reject naming row and
field, the same on DuckDB and Spark, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from netcds.cohort.read import dump_json_line, iter_rows
from netcds.cohort.textcells import MAX_CELL

REC = {"id": "p1", "tumor": {"primary_site": "ileum"}, "decision": {"regimen": "observation"}}
HEADER = "id,tumor.primary_site,decision.regimen"


def _rows(path: Path) -> tuple[int, list[tuple[int, str, int, str, str]]]:
    ok, rejects = 0, []
    for canon, rej in iter_rows(path):
        if canon is not None:
            ok += 1
        else:
            assert rej is not None
            dump_json_line(rej).encode("utf-8")  # the rejects file can be written
            rejects.append((rej["row"], rej["file"], rej["line"], rej["field"], rej["message"]))
    return ok, rejects


def _parquet(tmp_path: Path, name: str, select: str) -> Path:
    src = tmp_path / "rec.ndjson"
    src.write_text(json.dumps(REC) + "\n")
    out = tmp_path / name
    duckdb.connect().execute(f"COPY (SELECT {select} FROM read_json('{src}')) TO '{out}' (FORMAT parquet)")
    return out


def _hostile_files(tmp_path: Path) -> dict[str, Path]:
    v = json.dumps(REC)
    files = {
        "as_of_tz": _parquet(tmp_path, "tz.parquet", "*, TIMESTAMPTZ '2024-01-01 10:30:00+02' AS as_of"),
        "as_of_tz_midnight": _parquet(
            tmp_path, "tzm.parquet", "*, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS as_of"
        ),
        "nested_tz": _parquet(
            tmp_path,
            "nested.parquet",
            "id, tumor, {'date': TIMESTAMPTZ '2024-05-01 09:00:00+00', 'regimen': 'ssa'} AS decision",
        ),
        "exported_at": _parquet(
            tmp_path, "exported.parquet", "*, TIMESTAMPTZ '2024-05-01 09:00:00+00' AS exported_at"
        ),
    }
    long_cell = tmp_path / "long.csv"
    long_cell.write_text(f"{HEADER}\np1,ileum,observation\n{'x' * 200_000},ileum,observation\np3,ileum,ssa\n")
    runaway = tmp_path / "runaway.csv"
    runaway.write_text(f'{HEADER}\np1,ileum,observation\n"p2,ileum,observation\n' + "p,ileum,ssa\n" * 20_000)
    crs = tmp_path / "cr.ndjson"
    crs.write_bytes((v + "\r" + v + "\r\n" + v + "\n").encode())
    space = tmp_path / "space.ndjson"
    space.write_text("\n".join([v, "\x0c", "\x0b", "\x1f", "\u00a0", "\u0085", "\u2028", " \t", v]) + "\n")
    lone = tmp_path / "lone.ndjson"
    lone.write_text(v + "\n" + v.replace('"p1"', '"p\\ud800"') + "\n")
    return files | {"long_cell": long_cell, "runaway": runaway, "cr": crs, "space": space, "lone": lone}


def test_time_zoned_parquet_timestamps_are_read_as_utc_not_a_traceback(tmp_path: Path) -> None:
    f = _hostile_files(tmp_path)
    ok, rej = _rows(f["as_of_tz"])
    assert ok == 0 and rej[0][3] == "as_of" and "zero time" in rej[0][4]
    assert _rows(f["as_of_tz_midnight"]) == (1, [])  # a midnight UTC timestamp is that date
    ok, rej = _rows(f["nested_tz"])
    assert ok == 0 and rej[0][3] == "decision.date"
    ok, rej = _rows(f["exported_at"])  # an unknown column, as any unknown column
    assert ok == 0 and rej[0][3] == "exported_at" and "unknown field" in rej[0][4]


def test_a_csv_cell_over_131072_characters_is_a_reject_naming_row_and_field(tmp_path: Path) -> None:
    ok, rej = _rows(_hostile_files(tmp_path)["long_cell"])
    assert ok == 2 and [(r[0], r[2], r[3]) for r in rej] == [(2, 2, "id")]


def test_a_quote_never_closed_is_one_reject_holding_the_rest_or_stops_naming_the_line(tmp_path: Path) -> None:
    ok, rej = _rows(_hostile_files(tmp_path)["runaway"])  # the rest of the file, 240 KB, is one cell
    assert ok == 1 and [(r[0], r[2], r[3]) for r in rej] == [(2, 2, "<row>")] and "fewer cell" in rej[0][4]
    huge = tmp_path / "huge.csv"
    huge.write_text(f'{HEADER}\np1,ileum,observation\n"p2,ileum,observation\n' + "p,ileum,ssa\n" * 200_000)
    with pytest.raises(ValueError, match=rf"huge.csv: line 2 .*longer than {MAX_CELL} characters"):
        _rows(huge)


def test_a_lone_surrogate_escape_is_a_reject_and_its_rejects_line_can_be_written(tmp_path: Path) -> None:
    ok, rej = _rows(_hostile_files(tmp_path)["lone"])
    assert ok == 1 and rej == [(2, "lone.ndjson", 2, "<row>", rej[0][4])] and "\\ud800" in rej[0][4]
    assert dump_json_line({"raw": {"id": "p\ud800"}}) == '{"raw": {"id": "p\\ud800"}}\n'
    csv_cell = tmp_path / "cell.csv"
    csv_cell.write_text('id,tumor.primary_site,decision.regimen,medications\np1,ileum,ssa,"[""\\ud800""]"\n')
    assert [r[3] for r in _rows(csv_cell)[1]] == ["medications"]


def test_only_json_whitespace_makes_a_blank_ndjson_line(tmp_path: Path) -> None:
    ok, rej = _rows(_hostile_files(tmp_path)["space"])
    assert ok == 2 and [(r[0], r[3]) for r in rej] == [(n, "<row>") for n in range(2, 8)]


@pytest.mark.parametrize(
    "case",
    [
        "as_of_tz",
        "as_of_tz_midnight",
        "nested_tz",
        "exported_at",
        "long_cell",
        "runaway",
        "cr",
        "space",
        "lone",
    ],
)
def test_duckdb_and_spark_read_hostile_files_alike(spark_engine: Any, tmp_path: Path, case: str) -> None:
    path = _hostile_files(tmp_path)[case]
    ok, rejects = _rows(path)
    n, lines = spark_engine.load_cohort(str(path), path.suffix.lstrip("."))
    got = [json.loads(r) for r in lines]
    assert n == ok
    assert sorted((r["row"], r["file"], r["line"], r["field"], r["message"]) for r in got) == rejects
