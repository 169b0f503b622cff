"""Dose rules that apply together but cannot be combined: the dose is not determined, never the last rule's.

QA case e7 (strong CYP3A4 inhibitor plus strong inducer): sunitinib showed 62.5 mg (the inducer rule applied
last) and cabozantinib a net 60 mg (-20 then +20) although no label gives a dose for the combination.
"""

from __future__ import annotations

import pytest

from netcds.safety import AgentKnowledge, screen_agent
from tests.safety.conftest import comorb, meds, patient

INHIBITOR_AND_INDUCER = meds("itraconazole", "rifampin")


@pytest.mark.parametrize(
    ("agent", "inhibitor", "inducer"),
    [
        ("sunitinib", "strong_cyp3a4_inhibitor", "strong_cyp3a4_inducer"),
        ("cabozantinib", "strong_cyp3a4_inhibitor", "cyp3a4_inducer"),
    ],
)
def test_inhibitor_with_inducer_leaves_the_dose_not_determined(
    agent: str, inhibitor: str, inducer: str, akb: AgentKnowledge
) -> None:
    d = screen_agent(agent, patient(INHIBITOR_AND_INDUCER), akb).dose
    assert d.adjusted_mg is None and d.adjusted_amount is None  # no number at all
    assert d.adjusted is not None and d.adjusted.startswith("not determined: the label gives no dose for")
    assert "strong CYP3A4 inhibitor together with" in d.adjusted and "inducer" in d.adjusted
    assert (
        "opposite directions" in d.adjusted
        and "each rule's dose applies only without the other" in d.adjusted
    )
    # both rules are listed with their effect, and the note cites both rules' label sections
    assert any(r.startswith(f"{inhibitor}:") for r in d.rules_applied)
    assert any(r.startswith(f"{inducer}:") for r in d.rules_applied)
    (note,) = [r for r in d.rules_applied if r.startswith("not determined:")]
    assert f"{inhibitor} (" in note and f"{inducer} (" in note and "Inhibitors" in note.title()
    assert not any(r.startswith("combined:") for r in d.rules_applied)


def test_each_rule_alone_still_gives_its_dose(akb: AgentKnowledge) -> None:
    assert screen_agent("sunitinib", patient(meds("itraconazole")), akb).dose.adjusted_mg == 25
    assert screen_agent("sunitinib", patient(meds("rifampin")), akb).dose.adjusted_mg == 62.5
    assert screen_agent("cabozantinib", patient(meds("itraconazole")), akb).dose.adjusted_mg == 40
    assert screen_agent("cabozantinib", patient(meds("rifampin")), akb).dose.adjusted_mg == 80


def test_organ_function_and_interaction_in_opposite_directions(akb: AgentKnowledge) -> None:
    # everolimus: Child-Pugh B sets 5 mg, a strong inducer sets 20 mg
    d = screen_agent(
        "everolimus", patient({**comorb(hepatic_impairment="moderate"), **meds("rifampin")}), akb
    ).dose
    assert d.adjusted_mg is None
    assert d.adjusted is not None and d.adjusted.startswith("not determined:")
    assert "moderate hepatic impairment (Child-Pugh B) together with" in d.adjusted


def test_two_different_fixed_doses_are_not_combined(akb: AgentKnowledge) -> None:
    # everolimus: Child-Pugh A sets 7.5 mg, a moderate inhibitor 2.5 mg; the label gives none for both
    d = screen_agent(
        "everolimus", patient({**comorb(hepatic_impairment="mild"), **meds("verapamil")}), akb
    ).dose
    assert d.adjusted_mg is None
    assert d.adjusted is not None and "each sets a different fixed dose" in d.adjusted


def test_same_direction_changes_still_add_up(akb: AgentKnowledge) -> None:
    # cabozantinib: moderate hepatic impairment -20 mg and a strong inhibitor -20 mg: 20 mg, flagged as combined
    d = screen_agent(
        "cabozantinib", patient({**comorb(hepatic_impairment="moderate"), **meds("itraconazole")}), akb
    ).dose
    assert d.adjusted_mg == 20
    assert any(r.startswith("combined:") for r in d.rules_applied)


def test_missing_weight_does_not_hide_a_dose_that_cannot_be_given(akb: AgentKnowledge) -> None:
    # adolescent with unknown weight: the starting dose awaits the weight, unless the rules that apply give
    # no dose whatever the weight (avoid; rules that cannot be combined)
    teen = {"age_years": 13, "weight_kg": ...}
    conflict = screen_agent("cabozantinib", patient({**teen, **INHIBITOR_AND_INDUCER}), akb).dose
    assert conflict.adjusted is not None and conflict.adjusted.startswith("not determined: the label gives")
    assert any("weight_kg" in p for p in conflict.pending)
    avoid = screen_agent("cabozantinib", patient({**teen, **comorb(hepatic_impairment="severe")}), akb).dose
    assert avoid.adjusted is not None and avoid.adjusted.startswith("avoid:")
    plain = screen_agent("cabozantinib", patient({**teen, **meds("itraconazole")}), akb).dose
    assert plain.adjusted == "not determined until recorded: weight_kg"
