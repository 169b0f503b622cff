"""JSON a cohort row cannot be read as: a key given twice (in an NDJSON row or a CSV cell holding JSON),
a number of thousands of digits, brackets nested thousands deep. Each is one reject naming the field,
and the run goes on with the other rows."""

from __future__ import annotations

import json
from pathlib import Path

from netcds.cohort.audit import run_audit
from netcds.cohort.read import iter_rows
from netcds.knowledge.schema import Knowledge

GOOD = {
    "tumor": {"primary_site": "ileum", "grade": "G2", "sstr_status": "positive"},
    "disease": {"extent": "distant_metastatic", "status": "progressive"},
    "decision": {"date": "2024-03-01", "regimen": "lu177_dotatate"},
}
TWICE = "appears twice in the same JSON object (each key may be given once)"


def test_ndjson_rows_with_a_key_twice_or_unreadable_numbers_are_rejects(
    kb: Knowledge, tmp_path: Path
) -> None:
    good = json.dumps(GOOD)
    sstr_twice = good.replace(
        '"sstr_status": "positive"', '"sstr_status": "negative", "sstr_status": "positive"'
    )
    wrapped = json.dumps(
        {"patient": {k: v for k, v in GOOD.items() if k != "decision"}, "decision": GOOD["decision"]}
    )
    lines = [
        good,
        sstr_twice,
        good.replace('"regimen": "lu177_dotatate"', '"regimen": "ssa", "regimen": "lu177_dotatate"'),
        wrapped.replace('"grade": "G2"', '"grade": "G1", "grade": "G2"'),
        good[:-1] + ', "age_years": ' + "9" * 5000 + "}",
        "[" * 5000 + "]" * 5000,
        good,
    ]
    nd = tmp_path / "c.ndjson"
    nd.write_text("\n".join(lines) + "\n")
    got = list(iter_rows(nd))
    assert [canon is not None for canon, _ in got] == [True, False, False, False, False, False, True]
    rejects = [(r["row"], r["field"], r["message"]) for _, r in got if r is not None]
    assert rejects == [
        (2, "tumor.sstr_status", TWICE),
        (3, "decision.regimen", TWICE),
        (4, "patient.tumor.grade", TWICE),
        (5, "<row>", "not valid JSON (a number has too many digits)"),
        (6, "<row>", "not valid JSON (nested too deeply)"),
    ]
    assert (
        got[1][1] is not None and got[1][1]["raw"].strip() == sstr_twice
    )  # the line as read: no value was chosen
    run = run_audit(str(nd), tmp_path / "out", kb, "duckdb")
    assert (run.rows_in, run.results, run.rejects) == (7, 2, 5)


def test_a_csv_json_cell_with_a_key_twice_is_a_reject(kb: Knowledge, tmp_path: Path) -> None:
    treatments = '[{"agent": "everolimus", "start": "2023-01-01", "agent": "sunitinib"}]'
    quoted = '"' + treatments.replace('"', '""') + '"'
    good = '"[{""agent"": ""everolimus"", ""start"": ""2023-01-01""}]"'
    csv_file = tmp_path / "c.csv"
    csv_file.write_text(
        "id,tumor.primary_site,treatments,decision.regimen\n"
        f"p1,ileum,{good},sunitinib\n"
        f"p2,ileum,{quoted},sunitinib\n"
        f"p3,ileum,{good},sunitinib\n"
    )
    got = list(iter_rows(csv_file))
    assert [canon is not None for canon, _ in got] == [True, False, True]
    rej = got[1][1]
    assert rej is not None and (rej["row"], rej["field"], rej["message"]) == (2, "treatments[0].agent", TWICE)
    run = run_audit(str(csv_file), tmp_path / "out", kb, "duckdb")
    assert (run.rows_in, run.results, run.rejects) == (3, 2, 1)
