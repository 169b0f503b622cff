"""Tests that kill the mutants a session-34 mutation review found surviving: each pins a boundary or rule the
suite had left free (the mutant named in each test's comment passed every other test)."""

from __future__ import annotations

from typing import Any

import pytest

from netcds.logic import evaluate, parse_condition
from netcds.safety import load_agents
from tests.conftest import g3, gi, opt, run
from tests.engine.test_wd_g3_table import UNFAV_RESECTABLE
from tests.fhir.test_asof25_then import liver_mets
from tests.fhir.test_asof25_then import mapped as mapped_as_of
from tests.fhir.test_review_conditions import coded, cond, mapped, net
from tests.fhir.test_review_results import ICDO, MC, loinc, obs, reason
from tests.fhir.test_review_results import mapped as mapped_results
from tests.logic.test_conditions import SSTR, facts
from tests.safety.conftest import comorb
from tests.safety.test_rules import fired
from tests.sequencing.test_lines import lines_of
from tests.sequencing.util import OCT_STD, tx


def test_an_unworded_not_moves_the_inner_findings_to_the_other_side() -> None:
    # mutant: `not` kept the inner positives/negatives (a failing option would show a "Met:" line)
    out = evaluate(parse_condition({"not": SSTR}), facts(tumor={"sstr_status": "positive"}))
    assert out.value is False
    assert [x.says for x in out.negatives] == ["SSTR-positive"] and out.positives == []


@pytest.mark.parametrize(("ki67", "met"), [(54.9, False), (55, True)])
def test_the_wd_g3_neoadjuvant_qualifier_turns_at_a_ki67_of_55(ki67: float, met: bool) -> None:
    # mutant: the r9 cut point 55 -> 50 was caught only by the r9 == r8 equality test
    ev = run(g3(**UNFAV_RESECTABLE, tumor={"ki67_percent": ki67}))
    assert opt(ev, "g3res.temozolomide_pm_capecitabine").qualifiers[0].met is met


@pytest.mark.parametrize(
    ("burden", "shown"), [("mild", True), ("clinically_significant", False), ("bulky", False)]
)
def test_the_observation_note_needs_a_mild_tumor_burden(burden: str, shown: bool) -> None:
    # mutant: the note's `tumor_burden eq mild` dropped (caught only by the r9 == r8 equality test)
    ev = run(gi(disease={"status": "stable", "tumor_burden": burden}))
    assert ("observation_this_patient" in [n.id for n in ev.notes]) is shown


@pytest.mark.parametrize("crcl", [30, 50])
def test_capecitabine_moderate_renal_impairment_includes_both_edges(crcl: int) -> None:
    # mutant: CrCl `le: 50` -> `lt: 50` (the label's 30-50 mL/min band; the cases used 40 and 51)
    assert fired("capecitabine", "renal_moderate", comorb(creatinine_clearance_ml_min=crcl), load_agents())


@pytest.mark.parametrize(("second", "lines"), [("2021-07-19", 2), ("2021-07-20", 3)])
def test_agents_started_14_days_apart_are_one_line_and_15_days_apart_two(second: str, lines: int) -> None:
    # mutant: the concurrent-start window `<= 14` -> `< 14` days (tests used 4 and 58 days)
    got, _ = lines_of(
        [OCT_STD, tx("capecitabine", "2021-07-05", "2022-01-10"), tx("temozolomide", second, "2022-01-10")]
    )
    assert len(got) == lines


def _histology(rid: str, status: str, morphology: str, when: str) -> dict[str, Any]:
    return obs(
        rid,
        loinc("31206-6"),
        status=status,
        effectiveDateTime=when,
        meta={"profile": [MC + "mcode-histologic-behavior-and-type"]},
        valueCodeableConcept={"coding": [{"system": ICDO, "code": morphology}]},
    )


def test_a_registered_histology_observation_is_no_result() -> None:
    # mutant: `registered` removed from the skipped Observation statuses (an unresulted order read as a result)
    p, report = mapped_results(
        _histology("bad", "registered", "8246/3", "2024-06-01"),
        _histology("ok", "final", "8249/3", "2024-01-10"),
    )
    assert p.tumor.differentiation == "well"
    assert "registered" in reason(report, "Observation/bad")


def test_a_who_icd10_metastasis_code_is_read() -> None:
    # mutant: the WHO system http://hl7.org/fhir/sid/icd-10 dropped from the accepted ICD-10 systems
    p, _ = mapped(net(), cond("liv", coded("http://hl7.org/fhir/sid/icd-10", "C78.7")))
    assert p.disease.extent == "distant_metastatic" and p.disease.liver_metastases is True


def test_a_recurrent_liver_metastasis_is_active() -> None:
    # mutant: `recurrence` removed from the active clinical statuses (a metastatic patient read as not)
    p, _ = mapped_as_of(net(), liver_mets("recurrence"))
    assert p.disease.extent == "distant_metastatic" and p.disease.liver_metastases is True
