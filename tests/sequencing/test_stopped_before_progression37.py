"""A line stopped for toxicity (or the patient's choice, or another reason) before the disease progressed
is not progression on it (clinical QA, session 37, MEDIUM).

Everolimus taken for 3 months and stopped for toxicity, the disease progressing 11 months later off
treatment: netcds held everolimus back as "already given, with disease progression recorded" and called
it durable control, "14 months (start to progression)". The tables already read such a progression as
after the line, not on it (history.progressed_after_course, docs/contract.md); the sequencing layer now
does too: no progression-on rule, the line's durability is its time on treatment without progression
(sequencing/lines.stopped_before_progression), and the toxicity stays stated. A completed course (PRRT)
keeps the off-treatment convention, and a best response of PD or a stop for progression still counts.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from netcds import Patient, evaluate, load_knowledge

BASE: dict[str, Any] = {
    "sex": "male", "age_years": 64, "as_of": "2025-06-16",
    "tumor": {"primary_site": "ileum", "differentiation": "well", "grade": "G2", "functional": False,
              "syndromes": [], "hormonal_symptoms": False, "sstr_status": "positive"},
    "disease": {"extent": "distant_metastatic", "resectable": False, "tumor_burden": "clinically_significant",
                "tumor_symptoms": False, "status": "progressive", "progression_clinically_significant": True},
    "treatments": [
        {"agent": "octreotide_lar", "dose_mg": 30, "interval_days": 28, "start": "2020-01-01",
         "end": "2023-01-01", "progressed": True, "progression_date": "2022-12-01", "stop_reason": "progression"},
    ],
    "comorbidities": {}, "medications": [], "preferences": {},
}  # fmt: skip


def _run(line: dict[str, Any]) -> Any:
    rec = copy.deepcopy(BASE)
    rec["treatments"].append(line)
    return evaluate(Patient.model_validate(rec), load_knowledge())


def _rules(ev: Any, regimen: str) -> set[str]:
    [o] = [o for o in ev.options if o.regimen == regimen]
    return {c.rule_id for c in o.considerations}


def _line(ev: Any, n: int) -> Any:
    return next(ln for ln in ev.lines_of_therapy if ln.line == n)


def everolimus(**over: Any) -> dict[str, Any]:
    line = {"agent": "everolimus", "dose_mg": 10, "interval_days": 1, "start": "2023-01-15",
            "end": "2023-04-15", "progressed": True, "progression_date": "2024-03-15", "stop_reason": "toxicity"}  # fmt: skip
    return {**line, **over}


@pytest.mark.parametrize("stop", ["toxicity", "patient_choice", "other"])
def test_progression_after_a_line_stopped_first_is_not_progression_on_it(stop: str) -> None:
    ev = _run(everolimus(stop_reason=stop))
    rules = _rules(ev, "everolimus")
    assert "durability.progressed_on" not in rules
    assert "durability.progressed_after_durable_course" not in rules
    assert "durability.same_regimen.durable" not in rules  # 3 months on it is no durable control
    assert ("cumulative_toxicity.stopped_same_regimen" in rules) == (stop == "toxicity")
    d = _line(ev, 2).durability
    assert (d.months, d.to_progression) == (3.0, False)
    assert f"stopped for {stop.replace('_', ' ')} before progression" in d.basis
    assert "11 months after it ended" in d.basis
    assert _line(ev, 2).progressed is True  # the record's progression is kept, only not read as "on it"


@pytest.mark.parametrize(
    "over",
    [
        {"stop_reason": "progression", "progression_date": "2023-04-15"},  # stopped because it progressed
        {"best_response": "PD"},  # it never controlled the disease
        {"progression_date": "2023-03-01"},  # progression while on it
        {"stop_reason": None},  # why it stopped is not recorded: the recorded progression stands
    ],
)
def test_progression_on_it_still_counts(over: dict[str, Any]) -> None:
    ev = _run(everolimus(**over))
    assert "durability.progressed_on" in _rules(ev, "everolimus")


def test_a_long_line_stopped_for_toxicity_is_durable_control() -> None:
    ev = _run(everolimus(start="2021-01-15", end="2023-01-10", progression_date="2023-06-01"))
    rules = _rules(ev, "everolimus")
    assert "durability.same_regimen.durable" in rules and "durability.progressed_on" not in rules
    assert _line(ev, 2).durability.months == pytest.approx(23.9, abs=0.2)


def test_a_short_tki_stopped_for_toxicity_is_not_a_short_benefit_of_the_class() -> None:
    """Sunitinib stopped after a month for toxicity, progression later: cabozantinib (same class) gets the
    class's toxicity, not a short benefit of the class."""
    rec = copy.deepcopy(BASE)
    rec["tumor"]["primary_site"] = "pancreas"
    rec["treatments"].append(
        {
            "agent": "sunitinib",
            "start": "2023-01-15",
            "end": "2023-02-15",
            "progressed": True,
            "progression_date": "2023-05-15",
            "stop_reason": "toxicity",
        }
    )
    ev = evaluate(Patient.model_validate(rec), load_knowledge())
    assert "durability.progressed_on" not in _rules(ev, "sunitinib")
    assert "durability.same_class.short" not in _rules(ev, "cabozantinib")
    assert "cumulative_toxicity.stopped_same_class" in _rules(ev, "cabozantinib")


def test_a_completed_prrt_course_keeps_the_off_treatment_convention() -> None:
    prrt = {"agent": "lu177_dotatate", "start": "2023-02-01", "end": "2023-08-01", "progressed": True,
            "progression_date": "2024-01-01", "stop_reason": "completed"}  # fmt: skip
    ev = _run(prrt)
    assert "durability.progressed_on" in _rules(ev, "lu177_dotatate")  # 5 months after it ended: < 12
    d = _line(ev, 2).durability
    assert d.to_progression is True and d.basis == "start to progression"
