"""Release 5.2024-r12's SSA entries (a functional tumor on an ongoing octreotide LAR / lanreotide course meets
"hormonal symptoms", netcds's reading) in the cohort SQL: every combination of the facts the four entries
read (functional status, hormonal symptoms, SSTR status, the course ongoing / ended / none / history
unrecorded, progression on it) on the WD G3 favorable column and the lung/thymus table, for the standard
and above-label decisions, on DuckDB and Spark, gives the per-patient engine's setting, statuses, missing
fields and verdict. ``derived.on_ssa`` itself (value and missing fields) is compared too; the new branch
is taken by some rows."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from netcds import Patient, load_knowledge
from netcds.facts import build_facts
from netcds.logic.ast import parse_condition
from netcds.logic.evaluate import settle
from tests.conftest import g3, lung, opt, run

from .helpers import Query, check_on_duckdb, check_on_spark, conditions_missing_sql

R12 = load_knowledge("5.2024-r12")
_ABSENT = ...
ON = "derived.on_ssa"
CONDITIONS = {
    "on_ssa": parse_condition({"fact": ON, "is": True}),
    "not_on_ssa": parse_condition({"not": {"fact": ON, "is": True}}),
}
COURSES = ("ongoing", "ended", "stopped", "other_ongoing", "none", "unrecorded")
ENTRY = {("wd_g3", "ssa"): "g3fav.ssa", ("wd_g3", "ssa_above_label"): "g3fav.ssa_above_label"} | {
    ("lung", "ssa"): "lung.ssa",
    ("lung", "ssa_above_label"): "lung.ssa_above_label",
}


def _treatments(course: str, progressed: bool | None) -> Any:
    line: dict[str, Any] = {"agent": "lanreotide", "dose_mg": 120, "interval_days": 28, "start": "2023-01-01"}
    if progressed is not None:
        line["progressed"] = progressed
    if course == "ongoing":
        return [line]
    if course == "stopped":  # a stop reason and no end date: stopped, not ongoing
        return [{**line, "stop_reason": "toxicity"}]
    if course == "ended":
        return [{**line, "end": "2024-06-01"}]
    if course == "other_ongoing":  # an ended SSA, then another agent still given
        return [{**line, "end": "2024-06-01"}, {"agent": "everolimus", "start": "2024-07-01"}]
    return [] if course == "none" else _ABSENT


def _records() -> list[dict[str, Any]]:
    out = []
    for table, functional, hormonal, sstr, course, progressed, regimen in itertools.product(
        ["wd_g3", "lung"],
        [True, False, _ABSENT],
        [True, False, _ABSENT],
        ["positive", "negative", _ABSENT],
        COURSES,
        [True, None],
        ["ssa", "ssa_above_label"],
    ):
        if functional is False and hormonal is True:
            continue  # the contract refuses the pair
        tumor: dict[str, Any] = {"functional": functional, "hormonal_symptoms": hormonal, "sstr_status": sstr}
        tumor["syndromes"] = ["carcinoid_syndrome"] if functional is True else _ABSENT
        build = g3 if table == "wd_g3" else lung
        rec = build(tumor=tumor, treatments=_treatments(course, progressed))
        rec["decision"] = {"date": "2025-04-01", "regimen": regimen}
        out.append(rec)
    return out


RECORDS = _records()


def _patient(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k != "decision"}


def test_the_new_branch_is_exercised() -> None:
    took = set()
    for rec in RECORDS:
        t = rec["tumor"]
        if t.get("sstr_status") == "negative" and t.get("functional") and not t.get("hormonal_symptoms"):
            table = "wd_g3" if rec["tumor"]["primary_site"] != "lung" else "lung"
            entry = ENTRY[(table, rec["decision"]["regimen"])]
            if opt(run(_patient(rec), R12), entry).status == "eligible":
                took.add(entry)
    assert took == set(ENTRY.values())


def _compare(rows: list[dict[str, Any]]) -> None:
    assert sorted(int(r["row_id"]) for r in rows) == list(range(1, len(RECORDS) + 1))
    bad = []
    seen = set()
    for r in rows:
        rec = RECORDS[int(r["row_id"]) - 1]
        facts = build_facts(Patient.model_validate(_patient(rec)))
        seen.add(facts.get(ON))
        for k, c in CONDITIONS.items():
            value, missing = settle(c, facts)
            got = sorted(r[f"{k}__missing"] or [])
            if (r[k], got) != (value, sorted(missing)):
                bad.append(
                    (
                        r["row_id"],
                        k,
                        r[k],
                        got,
                        value,
                        missing,
                        rec.get("treatments"),
                    )
                )
    assert not bad, bad[:5]
    assert seen == {True, False, None}


def _agrees(dialect: str) -> Any:
    def check(query: Query) -> None:
        _compare(query(conditions_missing_sql(dialect, CONDITIONS, with_values=True)))

    return check


def test_duckdb_agrees_with_the_engine(tmp_path: Path) -> None:
    check_on_duckdb(RECORDS, R12, tmp_path, _agrees("duckdb"))


def test_spark_agrees_with_the_engine(spark_engine: Any) -> None:
    check_on_spark(spark_engine, RECORDS, R12, _agrees("spark"))
