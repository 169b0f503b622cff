"""No row is lost: every input row is a result or a reject (with row, field, message, raw), in every format."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from netcds.cohort.audit import run_audit
from netcds.cohort.read import iter_rows
from netcds.cohort.synth import flatten_record, synth_records, write_cohort
from netcds.knowledge.schema import Knowledge

from .helpers import write_parts

GOOD = {
    "tumor": {"primary_site": "ileum", "grade": "G2", "sstr_status": "positive"},
    "disease": {"extent": "distant_metastatic", "status": "progressive"},
    "decision": {"date": "2024-03-01", "regimen": "lu177_dotatate"},
}
BAD_LINES = [
    ("{not json", "<row>"),
    ('["a list"]', "<row>"),
    ('{"tumor": {"primary_site": "ileum"}}', "decision"),
    ('{"tumor": {"primary_site": "ileum"}, "decision": {"regimen": "aspirin"}}', "decision.regimen"),
    (
        '{"tumor": {"primary_site": "ileum", "ki67_percent": "8"}, "decision": {"regimen": "ssa"}}',
        "tumor.ki67_percent",
    ),
    ('{"tumor": {"primary_site": "ileum", "ki67": 8}, "decision": {"regimen": "ssa"}}', "tumor.ki67"),
    (
        '{"tumor": {"primary_site": "ileum"}, "decision": {"regimen": "ssa", "date": "2024-13-01"}}',
        "decision.date",
    ),
    (
        '{"tumor": {"primary_site": "ileum"}, "treatments": [{"agent": "everolimus", "start": "2024-05-01",'
        ' "end": "2024-01-01"}], "decision": {"regimen": "ssa"}}',
        "treatments[0].end",
    ),
    ('{"patient": {"tumor": {"primary_site": "lung"}}, "decision": {"regimen": "ssa"}, "extra": 1}', "extra"),
]


def test_ndjson_rejects_are_reported_and_none_lost(kb: Knowledge, tmp_path: Path) -> None:
    lines: list[str] = []
    bad_rows: dict[int, str] = {}
    good = [json.dumps(r) for r in synth_records(30, seed=8)]
    for i, g in enumerate(good):
        lines.append(g)
        if i < len(BAD_LINES):
            lines.append(BAD_LINES[i][0])
            bad_rows[len(lines)] = BAD_LINES[i][1]
        if i == 3:
            lines.append("   ")  # blank: not a row
    lines.append(
        json.dumps(
            {"patient": {k: v for k, v in GOOD.items() if k != "decision"}, "decision": GOOD["decision"]}
        )
    )  # the wrapped row shape
    path = tmp_path / "cohort.ndjson"
    path.write_text("\n".join(lines) + "\n")
    run = run_audit(str(path), tmp_path / "out", kb)
    assert run.rows_in == len(good) + 1 + len(BAD_LINES) == run.results + run.rejects
    assert run.rejects == len(BAD_LINES)
    rejects = [json.loads(x) for x in (tmp_path / "out" / "rejects.ndjson").read_text().splitlines()]
    assert {r["row"]: r["field"] for r in rejects} == bad_rows
    assert all(r["message"] and "raw" in r and r["errors"] for r in rejects)
    got = (
        duckdb.connect()
        .execute(
            f"SELECT row_id FROM read_parquet('{tmp_path / 'out' / 'decisions.parquet'}') ORDER BY row_id"
        )
        .fetchall()
    )
    blank = 5 + 4  # line of the blank: four good + four bad lines before it, 1-based
    all_rows = {i for i in range(1, len(lines) + 1) if i != blank}
    assert {r[0] for r in got} | set(bad_rows) == all_rows
    assert not {r[0] for r in got} & set(bad_rows)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["rows_in"] == run.rows_in and summary["rejects"] == len(BAD_LINES)


def test_csv_layout_with_bad_cells(kb: Knowledge, tmp_path: Path) -> None:
    records = list(synth_records(20, seed=9))
    flat = [flatten_record(r) for r in records]
    flat[3]["tumor.ki67_percent"] = "about eight"
    flat[7]["treatments"] = "[{not json"
    flat[11]["tumor.functional"] = "maybe"
    header = list(dict.fromkeys(k for r in flat for k in r))
    path = tmp_path / "cohort.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        for r in flat:
            w.writerow({k: ("true" if v is True else "false" if v is False else v) for k, v in r.items()})
    run = run_audit(str(path), tmp_path / "out", kb)
    assert (run.rows_in, run.results, run.rejects) == (20, 17, 3)
    rejects = {r["row"]: r["field"] for r in map(json.loads, (tmp_path / "out" / "rejects.ndjson").open())}
    assert rejects == {4: "tumor.ki67_percent", 8: "treatments", 12: "tumor.functional"}


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_columnar_formats_read_the_same_rows_as_ndjson(tmp_path: Path, ext: str) -> None:
    records = list(synth_records(60, seed=10, missing=0.3))
    write_cohort(iter(records), tmp_path / "c.ndjson")
    write_cohort(iter(records), tmp_path / f"c.{ext}")
    a = [row for row, _ in iter_rows(tmp_path / "c.ndjson")]
    b = [row for row, _ in iter_rows(tmp_path / f"c.{ext}")]
    assert all(r is not None for r in a) and a == b


def test_flattened_parquet_is_read_like_csv(tmp_path: Path) -> None:
    records = list(synth_records(15, seed=12))
    write_cohort(iter(records), tmp_path / "c.csv")
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_csv('{tmp_path / 'c.csv'}', all_varchar = true)) "
        f"TO '{tmp_path / 'flat.parquet'}' (FORMAT parquet)"
    )
    a = [row for row, _ in iter_rows(tmp_path / "c.csv")]
    b = [row for row, _ in iter_rows(tmp_path / "flat.parquet")]
    assert a == b and all(r is not None for r in b)


def test_ragged_csv_rows_and_non_utf8_lines_are_rejected_not_fatal(kb: Knowledge, tmp_path: Path) -> None:
    """A CSV row with more cells than the header, and an NDJSON line that is not UTF-8, each become one
    reject with its row number; the other rows are audited and none is lost. A byte-order mark (as
    spreadsheets write) is not part of the first column's name."""
    csv_file = tmp_path / "c.csv"
    csv_file.write_bytes(
        "\ufeffid,tumor.primary_site,decision.regimen\np1,ileum,everolimus\np2,ileum,everolimus,extra\n".encode()
    )
    rows = list(iter_rows(csv_file))
    assert rows[0][0] is not None and rows[0][0]["patient_id"] == "p1"
    assert rows[1][0] is None and rows[1][1] is not None
    assert rows[1][1]["row"] == 2 and "more cell" in rows[1][1]["message"]
    assert (rows[1][1]["file"], rows[1][1]["line"]) == ("c.csv", 2)
    nd = tmp_path / "c.ndjson"
    good = json.dumps(GOOD).encode()
    nd.write_bytes(b"\xef\xbb\xbf" + good + b"\n" + good[:-1] + b', "id": "\xff"}\n' + good + b"\n")
    got = list(iter_rows(nd))
    assert [r[0] is not None for r in got] == [True, False, True]
    assert got[1][1] is not None and got[1][1]["row"] == 2 and "not UTF-8" in got[1][1]["message"]
    assert (got[1][1]["file"], got[1][1]["line"]) == ("c.ndjson", 2)
    run = run_audit(str(nd), tmp_path / "out", kb, "duckdb")
    assert (run.rows_in, run.results, run.rejects) == (3, 2, 1)


def test_a_csv_row_with_fewer_cells_than_the_header_is_a_reject(kb: Knowledge, tmp_path: Path) -> None:
    """A short row's missing cells are not unknowns anyone recorded (which value is which is unknown): the
    row is a reject naming how many cells are missing, like a row with more cells; a blank line is no row."""
    path = tmp_path / "c.csv"
    path.write_text(
        "id,tumor.primary_site,disease.extent,decision.regimen\n"
        "p1,ileum,distant_metastatic,everolimus\n"
        "p2,ileum\n"
        "\n"
        "p3,ileum,,everolimus\n"
        "p4,ileum,distant_metastatic,everolimus,x,y\n",
        encoding="utf-8",
    )
    rows = list(iter_rows(path))
    assert [r is not None for r, _ in rows] == [True, False, True, False]
    short, long = rows[1][1], rows[3][1]
    assert short is not None and long is not None
    assert (short["row"], short["file"], short["line"], short["field"]) == (2, "c.csv", 2, "<row>")
    assert short["message"] == "2 fewer cell(s) than the header"
    assert short["raw"] == {"id": "p2", "tumor.primary_site": "ileum"}
    assert (long["row"], long["message"]) == (4, "2 more cell(s) than the header")
    assert long["raw"]["<extra cells>"] == ["x", "y"]
    run = run_audit(str(path), tmp_path / "out", kb, "duckdb")
    assert (run.rows_in, run.results, run.rejects) == (4, 2, 2)


@pytest.mark.parametrize("decision", ["null", "absent"])
def test_missing_decision_names_only_the_required_regimen(decision: str) -> None:
    from netcds.cohort.read import validate_record

    record: dict[str, object] = {"tumor": {"primary_site": "ileum"}}
    if decision == "null":
        record["decision"] = None
    row, rej = validate_record(1, record, record)
    assert row is None and rej is not None
    assert rej["field"] == "decision"
    assert "regimen" in rej["message"] and "date" not in rej["message"]  # the date is optional
    # a decision with only the regimen is complete
    row, rej = validate_record(2, {**record, "decision": {"regimen": "ssa"}}, record)
    assert rej is None and row is not None


def _bad_regimen(records: list[dict[str, Any]], *indexes: int) -> list[dict[str, Any]]:
    for i in indexes:
        records[i] = {**records[i], "decision": {"regimen": "aspirin"}}
    return records


@pytest.mark.parametrize("ext", ["ndjson", "csv", "parquet"])
def test_rejects_of_a_directory_name_the_part_file_and_the_line_in_it(
    kb: Knowledge, tmp_path: Path, ext: str
) -> None:
    """``row`` runs on across the part files (it is the results' row_id); ``file`` and ``line`` say
    which part file and which line (NDJSON), data row (CSV) or row index (Parquet) of it to fix."""
    records = _bad_regimen(list(synth_records(25, seed=21)), 4, 10 + 6)
    cohort = write_parts(records, tmp_path / "cohort", ext, [10, 15])
    run = run_audit(str(cohort), tmp_path / "out", kb)
    assert (run.rows_in, run.rejects) == (25, 2)
    rejects = [json.loads(x) for x in (tmp_path / "out" / "rejects.ndjson").read_text().splitlines()]
    blank = 1 if ext == "ndjson" else 0  # an NDJSON part after the first starts with a blank line
    assert [(r["row"], r["file"], r["line"], r["field"]) for r in rejects] == [
        (5, f"part-1.{ext}", 5, "decision.regimen"),
        (10 + blank + 7, f"part-2.{ext}", blank + 7, "decision.regimen"),
    ]
    assert list(rejects[0])[:3] == ["row", "file", "line"]
    got = (
        duckdb.connect()
        .execute(
            f"SELECT count(*), max(row_id) FROM read_parquet('{tmp_path / 'out' / 'decisions.parquet'}')"
        )
        .fetchone()
    )
    assert got == (23, 25 + blank)


@pytest.mark.parametrize("name", ["c.ndjson", "c.ndjson.gz", "c.csv", "c.parquet"])
def test_rejects_of_one_file_name_it(tmp_path: Path, name: str) -> None:
    write_cohort(iter(_bad_regimen(list(synth_records(8, seed=22)), 2, 6)), tmp_path / name)
    rejects = [rej for _, rej in iter_rows(tmp_path / name) if rej is not None]
    assert [(r["row"], r["file"], r["line"]) for r in rejects] == [(3, name, 3), (7, name, 7)]


_SSA_LINE = {"agent": "lanreotide", "start": "2021-01-10", "end": "2022-06-01", "progressed": True,
             "progression_date": "2022-05-20"}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        # the whole line after the decision: its progression would make a first-line SSA look discordant
        ({"decision_date": "2020-12-01"},
         ["treatments[0].start", "treatments[0].end", "treatments[0].progression_date"]),
        # ongoing at the decision, stopped later: as of the decision its end was not known
        ({"decision_date": "2022-01-15"}, ["treatments[0].end", "treatments[0].progression_date"]),
        ({"decision_date": "2022-05-25"}, ["treatments[0].end"]),
        ({"decision_date": "2021-01-10"},  # the line started at the decision is the choice itself
         ["treatments[0].start", "treatments[0].end", "treatments[0].progression_date"]),
        ({"as_of": "2023-01-01"}, ["as_of"]),
        ({"assessment": "2023-01-01"}, ["assessments[0].date"]),
    ],
)  # fmt: skip
def test_history_after_the_decision_date_is_a_reject_naming_each_field(
    change: dict[str, str], fields: list[str]
) -> None:
    from netcds.cohort.read import validate_record

    record: dict[str, Any] = {
        "tumor": {"primary_site": "ileum", "grade": "G2", "sstr_status": "positive", "functional": False},
        "disease": {"extent": "distant_metastatic", "status": "progressive"},
        "treatments": [_SSA_LINE],
        "decision": {"date": change.get("decision_date", "2022-07-01"), "regimen": "lu177_dotatate"},
    }
    if "as_of" in change:
        record["as_of"] = change["as_of"]
    if "assessment" in change:
        record["assessments"] = [{"date": change["assessment"], "recist_response": "PD"}]
    row, rej = validate_record(1, record, record)
    assert row is None and rej is not None
    assert [e["field"] for e in rej["errors"]] == fields
    assert all("decision" in e["message"] for e in rej["errors"])
    # the same record decided after all of it is a result; without a decision date nothing is checked
    for decision in ({"date": "2022-07-01", "regimen": "lu177_dotatate"}, {"regimen": "lu177_dotatate"}):
        later = {k: v for k, v in record.items() if k not in ("as_of", "assessments")} | {
            "decision": decision
        }
        row, rej = validate_record(2, later, later)
        assert rej is None and row is not None
