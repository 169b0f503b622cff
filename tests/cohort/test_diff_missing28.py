"""`cohort diff` compares what a ``needs_data`` verdict waits for (``missing_fields``): a decision point
that starts or stops waiting, or waits for other fields, is listed with the fields added or removed; one
whose fields are unchanged is not. The diff runs on DuckDB only (cohort/diff.py), so no Spark variant."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from netcds.cli import app
from netcds.cohort.diff import diff_versions, missing_changes
from netcds.cohort.synth import synth_records, write_cohort
from netcds.knowledge.load import load_knowledge

from .helpers import reference


def _wd_g3(
    pid: str, site: str = "pancreas", regimen: str = "lu177_dotatate", **disease: Any
) -> dict[str, Any]:
    """A metastatic WD G3 NET (SSTR-negative on the rectum), stable since progressing on capecitabine +
    temozolomide."""
    return {
        "id": pid,
        "age_years": 68.0,
        "sex": "female",
        "tumor": {
            "primary_site": site,
            "differentiation": "well",
            "grade": "G3",
            "ki67_percent": 39.4,
            "sstr_status": "positive" if site == "pancreas" else "negative",
            "functional": False,
            "hormonal_symptoms": False,
        },
        "disease": {
            "extent": "distant_metastatic",
            "tumor_burden": "clinically_significant",
            "tumor_symptoms": False,
            "status": "stable",
            **disease,
        },
        "biomarkers": {"msi": "stable", "tmb_mut_per_mb": 10.8},
        "treatments": [
            {
                "agent": "capecitabine_temozolomide",
                "start": "2020-02-03",
                "end": "2020-12-06",
                "progressed": True,
                "stop_reason": "progression",
                "progression_date": "2020-12-06",
                "best_response": "SD",
            }
        ],
        "decision": {"date": "2022-06-05", "regimen": regimen},
    }


RECORDS = [
    # favorable biology, resectability unrecorded: r8 asks for it (not_listed / concordant -> needs_data)
    _wd_g3("starts-waiting", site="rectum", regimen="observation", biology="favorable"),
    _wd_g3("starts-waiting-too", biology="favorable"),
    _wd_g3("waits-for-more"),  # biology unrecorded under both; r8 also waits for resectability
    _wd_g3("waits-the-same", resectable=False),  # biology unrecorded, resectable recorded: same wait
    _wd_g3("never-waits", biology="favorable", resectable=False),  # favorable and unresectable: same
]
STARTS = {"starts-waiting": "not_listed", "starts-waiting-too": "concordant"}


def test_diff_names_the_fields_a_needs_data_verdict_starts_or_stops_waiting_for(tmp_path: Path) -> None:
    r7, r8 = load_knowledge("5.2024-r7"), load_knowledge("5.2024-r8")
    cohort = tmp_path / "c.ndjson"
    write_cohort(iter(RECORDS), cohort)
    before, after = reference(RECORDS, r7), reference(RECORDS, r8)
    # the fixture is what it says, per the per-patient engine
    assert [(before[i]["verdict"], after[i]["verdict"]) for i in (1, 2)] == [
        ("not_listed", "needs_data"),
        ("concordant", "needs_data"),
    ]
    assert (before[3]["missing_fields"], after[3]["missing_fields"]) == (
        ["disease.biology"],
        ["disease.biology", "disease.resectable"],
    )
    assert before[4]["verdict"] == after[4]["verdict"] == "needs_data"
    assert before[4]["missing_fields"] == after[4]["missing_fields"] == ["disease.biology"]
    assert before[5] == after[5] and before[5]["missing_fields"] is None

    result = diff_versions(cohort, r7, r8)
    assert (result.compared, result.rejects) == (5, 0)
    changed = {c.patient_id: c for c in result.changed}
    assert set(changed) == {*STARTS, "waits-for-more"}  # unchanged waits are not listed
    for pid, verdict in STARTS.items():
        start = changed[pid]
        assert (start.verdict_from, start.verdict_to) == (verdict, "needs_data")
        assert "missing_fields added disease.resectable" in start.changes
    more = changed["waits-for-more"]
    assert more.verdict_from == more.verdict_to == "needs_data"
    assert more.changes == ["missing_fields added disease.resectable"]

    # and back: the fields r8 waits for are removed
    back = {c.patient_id: c for c in diff_versions(cohort, r8, r7).changed}
    assert set(back) == {*STARTS, "waits-for-more"}
    assert all("missing_fields removed disease.resectable" in back[pid].changes for pid in STARTS)
    assert back["waits-for-more"].changes == ["missing_fields removed disease.resectable"]


def test_diff_cli_writes_the_missing_fields_change(tmp_path: Path) -> None:
    cohort = tmp_path / "c.ndjson"
    write_cohort(iter(RECORDS), cohort)
    out = tmp_path / "changes.ndjson"
    args = ["cohort", "diff", str(cohort), "--from", "5.2024-r7", "--to", "5.2024-r8", "--out", str(out)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "3 of 5 decision points change" in res.output
    lines = {c["patient_id"]: c for c in map(json.loads, out.read_text().splitlines())}
    assert lines["waits-for-more"]["changes"] == ["missing_fields added disease.resectable"]
    assert "missing_fields added disease.resectable" in lines["starts-waiting"]["changes"]


def test_diff_lists_every_decision_point_whose_missing_fields_move(tmp_path: Path) -> None:
    """Over a synthetic cohort, the rows listed with a missing_fields change are exactly those whose
    missing_fields differ under the per-patient engine, each with the fields added and removed."""
    r7, r8 = load_knowledge("5.2024-r7"), load_knowledge("5.2024-r8")
    records = list(synth_records(600, seed=3))
    cohort = tmp_path / "c.ndjson"
    write_cohort(iter(records), cohort)
    before, after = reference(records, r7), reference(records, r8)
    moved = {i for i in before if before[i]["missing_fields"] != after[i]["missing_fields"]}
    result = diff_versions(cohort, r7, r8)
    words = {c.row_id: [w for w in c.changes if w.startswith("missing_fields ")] for c in result.changed}
    assert moved and {i for i, w in words.items() if w} == moved
    for i in moved:
        assert words[i] == missing_changes(before[i]["missing_fields"], after[i]["missing_fields"])


def test_missing_changes_in_words() -> None:
    assert missing_changes(None, None) == [] and missing_changes(["a"], ["a"]) == []
    assert missing_changes(None, ["a", "b"]) == ["missing_fields added a, b"]
    assert missing_changes(["a", "b"], None) == ["missing_fields removed a, b"]
    assert missing_changes(["a", "c"], ["a", "b"]) == ["missing_fields added b", "missing_fields removed c"]
