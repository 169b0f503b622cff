"""The regimen id ``ssa`` with a recorded dose or interval, in SQL as in the engine (history.ssa_dose_level).

``ssa`` without a dose or interval is the standard dose; with either, it is read as octreotide LAR and as
lanreotide, and the readings must agree (10 mg: below the standard for either) or the level is unknown
(120 mg every 28 days). The derived facts, the verdicts and what a needs_data verdict waits for are
compared with the engine on every dose and interval state of an ``ssa`` line, on DuckDB and Spark.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from netcds.cohort.query import conditions_sql
from netcds.cohort.run_duckdb import DuckDBEngine
from netcds.facts import build_facts
from netcds.knowledge.schema import Knowledge
from netcds.logic.ast import parse_condition
from netcds.patient import Patient
from tests.conftest import gi

from .helpers import canonical_rows, mismatches, reference, write_canonical

FACTS = ("derived.progressed_on_ssa", "derived.progressed_on_standard_ssa")
DOSES = (None, 10.0, 20.0, 30.0, 60.0, 120.0, 180.0)
INTERVALS = (None, 14.0, 28.0, 56.0)


def ssa_records() -> list[dict[str, Any]]:
    """A progressing ileal NET after an ``ssa`` line at every dose and interval state (progression recorded
    or not), deciding for the above-label SSA (footnote h reads progression on standard doses) or PRRT."""
    out = []
    for (dose, interval), progressed, regimen, functional in itertools.product(
        itertools.product(DOSES, INTERVALS),
        (True, None),
        ("ssa_above_label", "lu177_dotatate"),
        (True, False),
    ):
        line: dict[str, Any] = {"agent": "ssa", "start": "2022-01-01", "end": "2024-05-01"}
        line |= {k: v for k, v in (("dose_mg", dose), ("interval_days", interval)) if v is not None}
        if progressed:
            line |= {"progressed": True, "stop_reason": "progression"}
        rec = gi(treatments=[line])
        rec["disease"] = {
            **rec["disease"],
            "status": "progressive",
            "progression_clinically_significant": True,
        }
        if functional:
            rec["tumor"] = {**rec["tumor"], "functional": True, "hormonal_symptoms": True}
        out.append({**rec, "decision": {"date": "2024-06-01", "regimen": regimen}})
    return out


def facts_sql(dialect: str) -> str:
    conditions = {f"{fact.split('.')[1]}": parse_condition({"fact": fact, "eq": True}) for fact in FACTS}
    return conditions_sql(conditions, dialect) + " ORDER BY row_id"


def sql_facts(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {int(r["row_id"]): {f: r[f.split(".")[1]] for f in FACTS} for r in rows}


def engine_facts(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    out = {}
    for i, rec in enumerate(records, start=1):
        f = build_facts(Patient.model_validate({k: v for k, v in rec.items() if k != "decision"}))
        out[i] = {fact: f.get(fact) for fact in FACTS}
    return out


def check_reach(records: list[dict[str, Any]], want: dict[int, dict[str, Any]]) -> None:
    """The batch reaches every reading: standard, below the standard and unknown (naming the line)."""
    facts = engine_facts(records)
    assert {v["derived.progressed_on_standard_ssa"] for v in facts.values()} == {True, False, None}
    row = next(
        i
        for i, rec in enumerate(records, start=1)
        if rec["treatments"][0].get("dose_mg") == 10.0
        and rec["treatments"][0].get("interval_days") == 28.0
        and rec["treatments"][0].get("progressed")
    )
    assert facts[row]["derived.progressed_on_standard_ssa"] is False
    named = {f for r in want.values() for f in r["missing_fields"] or []}
    assert "treatments[0].dose_mg" in named


def duckdb_audit(records: list[dict[str, Any]], kb: Knowledge, tmp_path: Path) -> list[dict[str, Any]]:
    """The DuckDB audit's rows of ``records``, after checking its SSA facts equal the engine's."""
    engine = DuckDBEngine(threads=1)
    try:
        engine.load_canonical(write_canonical(canonical_rows(records), tmp_path / "c.ndjson"))
        assert sql_facts(engine.query(facts_sql("duckdb"))) == engine_facts(records)
        engine.audit(kb)
        return engine.rows()
    finally:
        engine.close()


def spark_audit(spark_engine: Any, records: list[dict[str, Any]], kb: Knowledge) -> list[dict[str, Any]]:
    """The Spark audit's rows of ``records``, after checking its SSA facts equal the engine's."""
    spark_engine.load_rows(canonical_rows(records))
    try:
        assert sql_facts(spark_engine.query(facts_sql("spark"))) == engine_facts(records)
    finally:
        spark_engine.close()
    spark_engine.load_rows(canonical_rows(records))
    spark_engine.audit(kb)
    try:
        rows: list[dict[str, Any]] = spark_engine.rows()
        return rows
    finally:
        spark_engine.close()


def test_duckdb_reads_an_ssa_regimen_dose_like_the_engine(kb: Knowledge, tmp_path: Path) -> None:
    records = ssa_records()
    got = duckdb_audit(records, kb, tmp_path)
    want = reference(records, kb)
    problems = mismatches(got, want, records)
    assert not problems, "\n".join(problems[:5])
    check_reach(records, want)


def test_spark_reads_an_ssa_regimen_dose_like_the_engine(spark_engine: Any, kb: Knowledge) -> None:
    records = ssa_records()
    got = spark_audit(spark_engine, records, kb)
    problems = mismatches(got, reference(records, kb), records)
    assert not problems, "\n".join(problems[:5])
