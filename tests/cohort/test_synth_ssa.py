"""Both synthetic generators record a share of SSA lines with the regimen id ``ssa`` (octreotide LAR or
lanreotide, not saying which), with and without a dose and an interval, so the cohort equivalence tests
meet every reading of such a line on generated data: the standard dose by convention (nothing recorded),
readings as the two agents that agree (10 mg: below the standard for either; every 14 days: above label;
every 28 days alone: unknown) and readings that disagree (30 mg every 28 days: standard as octreotide LAR,
below the standard as lanreotide; 60 or 90 mg: above label / below; 120 mg: above label / standard; a dose
without an interval: one reading unknown). The SQL audit (DuckDB and Spark) equals the per-patient engine
on those decision points: the SSA facts, every option, the verdict and what a needs_data verdict waits
for (``treatments[0].agent`` where the readings differ).
"""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from netcds.cohort.layout import record_from_canonical
from netcds.cohort.synth import synth_records
from netcds.cohort.synth_sql import generate_sql
from netcds.history import SSA_READINGS, ssa_dose_level
from netcds.knowledge.schema import Knowledge
from netcds.patient import Treatment

from .helpers import mismatches, reference
from .test_ssa_regimen_dose25 import duckdb_audit, engine_facts, spark_audit

Kind = str | tuple[str | None, ...]
# the readings of an ``ssa`` line as (octreotide LAR, lanreotide), SSA_READINGS's order
AGREE: set[Kind] = {
    "nothing recorded",
    ("below_standard", "below_standard"),
    ("above_label", "above_label"),
    (None, None),
}
DISAGREE: set[Kind] = {
    ("standard", "below_standard"),
    ("above_label", "below_standard"),
    ("above_label", "standard"),
    (None, "below_standard"),
    ("above_label", None),
}
# the cohorts the equivalence tests audit (test_equivalence_duckdb.py, test_equivalence_spark.py)
EQUIVALENCE_COHORTS = [(3000, 5, 0.25, 0.15), (2500, 11, 0.3, 0.2)]


def reading_kind(line: dict[str, Any]) -> Kind:
    dose, interval = line.get("dose_mg"), line.get("interval_days")
    if dose is None and interval is None:
        return "nothing recorded"
    return tuple(
        ssa_dose_level(Treatment.model_validate({**line, "agent": agent}))[0] for agent in SSA_READINGS
    )


def ssa_kinds(records: list[dict[str, Any]]) -> Counter[Kind]:
    return Counter(reading_kind(t) for r in records for t in r.get("treatments") or [] if t["agent"] == "ssa")


def ssa_share(records: list[dict[str, Any]]) -> float:
    agents = Counter(t["agent"] for r in records for t in r.get("treatments") or [])
    return agents["ssa"] / (agents["ssa"] + agents["octreotide_lar"] + agents["lanreotide"])


def sql_generated(count: int, seed: int) -> list[dict[str, Any]]:
    """Rows of the in-DuckDB generator (synth_sql.py), as NDJSON records."""
    import duckdb

    con = duckdb.connect()
    try:
        cur = con.execute(generate_sql(0, count, seed))
        names = [d[0] for d in cur.description]
        return [record_from_canonical(dict(zip(names, row, strict=True))) for row in cur.fetchall()]
    finally:
        con.close()


@pytest.mark.parametrize(("n", "seed", "off", "missing"), EQUIVALENCE_COHORTS)
def test_python_generator_records_ssa_lines_of_every_reading(
    n: int, seed: int, off: float, missing: float
) -> None:
    records = list(synth_records(n, seed, off, missing))
    assert records == list(synth_records(n, seed, off, missing))  # the same seed, the same cohort
    assert set(ssa_kinds(records)) == AGREE | DISAGREE
    assert 0.12 < ssa_share(records) < 0.25


def test_sql_generator_records_ssa_lines_of_every_reading() -> None:
    records = sql_generated(3000, 1)
    assert records == sql_generated(3000, 1)
    assert set(ssa_kinds(records)) == AGREE | DISAGREE
    assert 0.12 < ssa_share(records) < 0.25


@functools.cache
def _ssa_decision_points() -> tuple[dict[str, Any], ...]:
    """The decision points of both generators with an ``ssa`` line, as generated and (the same history)
    deciding for the above-label SSA, whose entries read progression on a standard SSA dose."""
    records = list(synth_records(*EQUIVALENCE_COHORTS[0])) + sql_generated(3000, 1)
    with_ssa = [r for r in records if any(t["agent"] == "ssa" for t in r.get("treatments") or [])]
    above = [{**r, "decision": {**r["decision"], "regimen": "ssa_above_label"}} for r in with_ssa]
    return tuple(with_ssa + above)


def ssa_decision_points() -> list[dict[str, Any]]:
    return list(_ssa_decision_points())


def check_reach(records: list[dict[str, Any]], want: dict[int, dict[str, Any]]) -> None:
    """The batch holds every reading, the SSA fact takes all three values, and a needs_data verdict waits
    for which SSA it was, alone (both readings known) and with the dose and interval (one unknown)."""
    assert set(ssa_kinds(records)) == AGREE | DISAGREE
    facts = engine_facts(records)
    assert {v["derived.progressed_on_standard_ssa"] for v in facts.values()} == {True, False, None}
    waits = [set(r["missing_fields"] or []) for r in want.values()]
    assert any("treatments[0].agent" in w and "treatments[0].dose_mg" not in w for w in waits)
    assert any(
        {"treatments[0].agent", "treatments[0].dose_mg", "treatments[0].interval_days"} <= w for w in waits
    )


def test_duckdb_audit_equals_engine_on_generated_ssa_lines(kb: Knowledge, tmp_path: Path) -> None:
    records = ssa_decision_points()
    got = duckdb_audit(records, kb, tmp_path)
    want = reference(records, kb)
    problems = mismatches(got, want, records)
    assert not problems, "\n".join(problems[:5])
    check_reach(records, want)


def test_spark_audit_equals_engine_on_generated_ssa_lines(spark_engine: Any, kb: Knowledge) -> None:
    records = ssa_decision_points()
    got = spark_audit(spark_engine, records, kb)
    want = reference(records, kb)
    problems = mismatches(got, want, records)
    assert not problems, "\n".join(problems[:5])
    check_reach(records, want)
