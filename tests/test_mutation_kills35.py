"""Tests that kill the mutants a session-35 mutation review found surviving: each pins a boundary or rule the
suite had left free (the mutant named in each test's docstring passed every other test)."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from netcds import Patient, evaluate
from netcds.cohort.run_duckdb import DuckDBEngine
from netcds.fhir import bundle_to_patient
from netcds.knowledge import Knowledge
from netcds.knowledge.schema import CategoryRule
from tests.cohort.helpers import canonical_rows, mismatches, reference, write_canonical
from tests.conftest import gi, pancreas
from tests.fhir.conftest import load
from tests.sequencing.util import OCT_STD, rules, seq, tx

# ---- Q1: a benefit of exactly 6.0 months is not short ----------------------------------------------------------
SAME_CLASS_SHORT = "durability.same_class.short"


@pytest.mark.parametrize(
    ("progression", "months", "short"),
    [("2022-01-02", "5.9", True), ("2022-01-03", "6", False)],  # 181 and 182 days from 2021-07-05
)
def test_a_benefit_of_exactly_six_months_is_not_short(progression: str, months: str, short: bool) -> None:
    """Mutant Q1 (sequencing/considerations.py, ``option_facts.short``): ``d.months <
    c.short_durability_months`` -> ``<=``. Short durability is "< 6 months" (the convention's own
    words): progression 5.9 months into a temozolomide course gives CAPTEM the same-class short-benefit
    point; progression at 6.0 months does not."""
    tem = tx("temozolomide", "2021-07-05", progression, progressed=True, progression_date=progression)
    _, r = seq(pancreas(treatments=[OCT_STD, tem]))
    captem = r.for_option("pancreas.capecitabine_temozolomide")
    assert (SAME_CLASS_SHORT in rules(captem)) is short
    line = next(ln for ln in r.lines_of_therapy if "temozolomide" in ln.agents)
    assert f"{line.durability.months:g}" == months  # the boundary is the one the rule reads
    if short:
        [c] = [c for c in captem.considerations if c.rule_id == SAME_CLASS_SHORT]
        assert c.direction == "against" and c.factor == "prior_durability"


# ---- F5: an on-hold MedicationStatement is still a current drug --------------------------------------------------
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _with_statement(status: str) -> dict[str, Any]:
    b = copy.deepcopy(load("ileal_net_ssa_progression.json"))
    b["entry"].append(
        {
            "resource": {
                "resourceType": "MedicationStatement",
                "id": "clari",
                "status": status,
                "medicationCodeableConcept": {
                    "coding": [{"system": RX, "code": "21212", "display": "clarithromycin"}],
                    "text": "clarithromycin 500 MG Oral Tablet",
                },
                "subject": {"reference": "Patient/net-ileum-1"},
                "effectivePeriod": {"start": "2025-05-01"},
            }
        }
    )
    return b


def _cyp3a4_items(status: str, kb: Knowledge) -> dict[str, str]:
    p, _ = bundle_to_patient(_with_statement(status), as_of=date(2025, 6, 1))
    ev = evaluate(p, kb)
    return {
        o.regimen: s.severity
        for o in ev.options
        if o.regimen in ("cabozantinib", "everolimus")
        for s in o.safety
        if s.id == "strong_cyp3a4_inhibitor" and "clarithromycin" in s.finding
    }


@pytest.mark.parametrize("status", ["active", "on-hold"])
def test_an_on_hold_strong_cyp3a4_inhibitor_is_still_screened(status: str, kb: Knowledge) -> None:
    """Mutant F5 (``STATEMENT_STATUS``, fhir/course_status.py, formerly treatments.py): ``"on-hold": (True, True)`` ->
    ``(True, False)``. A clarithromycin MedicationStatement on hold is paused, not stopped: it stays in
    ``medications`` and is screened against cabozantinib (dose change) and everolimus (avoid)."""
    assert _cyp3a4_items(status, kb) == {"cabozantinib": "warning", "everolimus": "critical"}
    p, report = bundle_to_patient(_with_statement(status), as_of=date(2025, 6, 1))
    assert p.medications is not None and "clarithromycin" in p.medications
    assert any(m.field == "medications" and "MedicationStatement/clari" in m.from_ for m in report.mapped)


def test_a_completed_strong_cyp3a4_inhibitor_is_not_screened(kb: Knowledge) -> None:
    """The other side of F5: a completed statement is no current drug, so no interaction item."""
    p, _ = bundle_to_patient(_with_statement("completed"), as_of=date(2025, 6, 1))
    assert "clarithromycin" not in (p.medications or [])
    assert _cyp3a4_items("completed", kb) == {}


# ---- M10: of two true category rules, the first listed decides ------------------------------------------------
PROGRESSIVE_3 = CategoryRule.model_validate(
    {"category": "3", "says": "progressive disease", "when": {"fact": "derived.progressive", "is": True}}
)
ILEAL_2B = CategoryRule.model_validate(
    {"category": "2B", "says": "ileal primary", "when": {"fact": "tumor.primary_site", "eq": "ileum"}}
)


def _with_category_rules(kb: Knowledge, entry_id: str, category_rules: list[CategoryRule]) -> Knowledge:
    """``kb`` with the entry's category rules replaced (no shipped entry has two rules that can both hold)."""
    tables = []
    for t in kb.tables:
        columns = []
        for c in t.columns:
            entries = [
                e.model_copy(update={"category_rules": category_rules}) if e.id == entry_id else e
                for e in c.entries
            ]
            columns.append(c.model_copy(update={"entries": entries}))
        tables.append(t.model_copy(update={"columns": columns}))
    return kb.model_copy(update={"tables": tables, "digest": f"{kb.digest}-m10"})


ORDERS = [([PROGRESSIVE_3, ILEAL_2B], "3"), ([ILEAL_2B, PROGRESSIVE_3], "2B")]


@pytest.mark.parametrize(("category_rules", "category"), ORDERS)
def test_the_first_true_category_rule_wins(
    category_rules: list[CategoryRule], category: str, kb: Knowledge
) -> None:
    """Mutant M10 (engine/options.py, ``_category``): ``for rule in entry.category_rules`` ->
    ``reversed(entry.category_rules)`` (the last true rule won). Both rules hold for this progressive
    ileal patient: the entry takes the category of the rule listed first, and its basis says why."""
    patient = Patient.model_validate(gi())
    assert patient.tumor.primary_site == "ileum" and patient.disease.status == "progressive"
    edited = _with_category_rules(kb, "gi.everolimus", category_rules)
    [evero] = [o for o in evaluate(patient, edited).options if o.entry_id == "gi.everolimus"]
    assert (evero.category, evero.category_default) == (category, "2A")
    first = category_rules[0]
    assert evero.category_basis[0].startswith(f"category {first.category}: {first.says} (")


@pytest.mark.parametrize(("category_rules", "category"), ORDERS)
def test_the_cohort_sql_takes_the_first_true_category_rule_too(
    category_rules: list[CategoryRule], category: str, kb: Knowledge, tmp_path: Path
) -> None:
    """M10 in the cohort SQL (cohort/query.py, ``_category``: a CASE whose first true arm is taken): DuckDB
    gives the entry the same category as the engine, the first listed rule's."""
    edited = _with_category_rules(kb, "gi.everolimus", category_rules)
    records = [{**gi(), "decision": {"date": "2024-09-01", "regimen": "everolimus"}}]
    engine = DuckDBEngine(threads=1)
    try:
        engine.load_canonical(write_canonical(canonical_rows(records), tmp_path / "c.ndjson"))
        engine.audit(edited)
        rows = engine.rows()
    finally:
        engine.close()
    [row] = rows
    at = [o["entry_id"] for o in row["options"]].index("gi.everolimus")
    assert row["option_category"][at] == category
    assert row["chosen_category"] == category
    assert not mismatches(rows, reference(records, edited), records)
