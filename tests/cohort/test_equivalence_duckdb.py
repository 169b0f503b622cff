"""The DuckDB audit reproduces the per-patient engine exactly: setting, every option's status, tier and
category, and the verdict, on generated decision points full of unknowns and on the synthetic cohort."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcds.cohort.run_duckdb import DuckDBEngine
from netcds.cohort.synth import synth_records
from netcds.knowledge.schema import Knowledge

from .helpers import (
    canonical_rows,
    derived_sql,
    derived_values,
    engine_derived,
    generated_records,
    history_records,
    mismatches,
    reference,
    thoracic_grading_records,
    write_canonical,
)
from .strategies import decision_point


def audit_duckdb(records: list[dict[str, Any]], kb: Knowledge, tmp: Path) -> list[dict[str, Any]]:
    engine = DuckDBEngine(threads=1)
    try:
        engine.load_canonical(write_canonical(canonical_rows(records), tmp / "c.ndjson"))
        engine.audit(kb)
        return engine.rows()
    finally:
        engine.close()


def test_duckdb_matches_engine_on_thousands_of_generated_patients(kb: Knowledge, tmp_path: Path) -> None:
    records = generated_records(2500)
    want = reference(records, kb)
    problems = mismatches(audit_duckdb(records, kb, tmp_path), want, records)
    assert not problems, "\n".join(problems[:5])
    # the batch reaches every setting status and verdict, and all three option statuses
    assert {r["setting_status"] for r in want.values()} >= {"applies", "needs_data", "not_applicable"}
    assert set(Counter(r["verdict"] for r in want.values())) == {
        "concordant",
        "listed_not_eligible",
        "needs_data",
        "not_listed",
        "no_systemic_indicated",
        "out_of_scope",
    }
    # out_of_scope names its exclusions, one or several (in knowledge order)
    scopes = {r["scope_exclusions"] for r in want.values() if r["verdict"] == "out_of_scope"}
    assert None not in scopes and any(", " in s for s in scopes)
    assert {o["status"] for r in want.values() for o in r["options"]} == {
        "eligible",
        "needs_data",
        "not_eligible",
    }


def test_duckdb_matches_engine_on_synthetic_cohort(kb: Knowledge, tmp_path: Path) -> None:
    records = list(synth_records(3000, seed=5, off_guideline=0.25, missing=0.15))
    problems = mismatches(audit_duckdb(records, kb, tmp_path), reference(records, kb), records)
    assert not problems, "\n".join(problems[:5])


def test_duckdb_matches_engine_on_treatment_histories(kb: Knowledge, tmp_path: Path) -> None:
    """Random SSA, everolimus and chemotherapy lines with their fields recorded or not: the verdicts and what
    a needs_data verdict waits for (a line's progression, an SSA line's dose and interval) equal the engine's."""
    records = history_records(1500, seed=1)
    want = reference(records, kb)
    problems = mismatches(audit_duckdb(records, kb, tmp_path), want, records)
    assert not problems, "\n".join(problems[:5])
    named = {f.partition("]")[2] for r in want.values() for f in r["missing_fields"] or []}
    assert named >= {".progressed", ".dose_mg", ".interval_days"}


def test_duckdb_grades_lung_and_thymus_without_ki67_like_the_engine(kb: Knowledge, tmp_path: Path) -> None:
    """Ki-67 grades a digestive primary but not a lung/thymus carcinoid: the derived grade and
    differentiation in SQL, and through them the setting and verdict, equal the engine's."""
    records = thoracic_grading_records()
    engine = DuckDBEngine(threads=1)
    try:
        engine.load_canonical(write_canonical(canonical_rows(records), tmp_path / "c.ndjson"))
        sql = derived_values(engine.query(derived_sql("duckdb")))
    finally:
        engine.close()
    want = engine_derived(records)
    assert sql == want
    by_case = {
        (rec["tumor"]["primary_site"], tuple(sorted(rec["tumor"].items()))): sql[i]["derived.grade"]
        for i, rec in enumerate(records, start=1)
    }
    assert by_case[("lung", (("ki67_percent", 25.0), ("primary_site", "lung")))] is None  # Ki-67 alone
    assert by_case[("ileum", (("ki67_percent", 25.0), ("primary_site", "ileum")))] == "G3"
    typical = (
        ("ki67_percent", 25.0),
        ("mitoses_per_2mm2", 1.0),
        ("necrosis", False),
        ("primary_site", "lung"),
    )
    assert by_case[("lung", typical)] == "G1"  # the count grades; the high Ki-67 is only flagged
    atypical = (("mitoses_per_2mm2", 1.0), ("necrosis", True), ("primary_site", "lung"))
    assert by_case[("lung", atypical)] == "G2"  # necrosis: an atypical carcinoid despite < 2 mitoses
    problems = mismatches(audit_duckdb(records, kb, tmp_path), reference(records, kb), records)
    assert not problems, "\n".join(problems[:5])


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(batch=st.lists(decision_point(), min_size=1, max_size=25))
def test_duckdb_matches_engine_shrinkable(
    kb: Knowledge, tmp_path_factory: pytest.TempPathFactory, batch: list[dict[str, Any]]
) -> None:
    """Small batches, so a disagreement shrinks to a minimal record."""
    got = audit_duckdb(batch, kb, tmp_path_factory.mktemp("eq"))
    problems = mismatches(got, reference(batch, kb), batch)
    assert not problems, "\n".join(problems[:5])
