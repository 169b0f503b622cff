"""Clinical QA review of the safety data: cabozantinib 'do not give' severities, footnote o kept to the WD G3
table, monograph texts that name other agents, and cabozantinib's previously-treated indication."""

from __future__ import annotations

import re
from typing import Any

import pytest

from netcds.safety import AgentKnowledge, SafetyItem, screen_agent
from tests.safety.conftest import comorb, patient

AFTER_LANREOTIDE = {
    "treatments": [{"agent": "lanreotide", "start": "2023-01-10", "end": "2025-01-15", "progressed": True}]
}
WD_G3 = {"grade": "G3", "differentiation": "well"}


def items(agent: str, over: dict[str, Any], akb: AgentKnowledge) -> dict[str, SafetyItem]:
    return {i.id: i for i in screen_agent(agent, patient(over), akb).safety}


# ------------------------------------------------------------------------ cabozantinib: do not administer


@pytest.mark.parametrize(
    ("rule", "over"),
    [
        ("recent_hemorrhage", comorb(recent_hemorrhage=True)),
        ("recent_major_surgery", comorb(recent_major_surgery_date="2025-02-22")),  # 7 days before as_of
        ("wound_not_healed", comorb(wound_healed=False)),
        ("surgery_within_3_weeks", comorb(planned_surgery_date="2025-03-15")),
        ("dental_procedure_within_3_weeks", comorb(planned_dental_procedure_date="2025-03-10")),
    ],
)
def test_cabozantinib_do_not_give_situations_are_critical(
    rule: str, over: dict[str, Any], akb: AgentKnowledge
) -> None:
    it = items("cabozantinib", over, akb)[rule]
    assert it.kind == "warning" and it.severity == "critical"
    assert it.action.startswith("Do not start")


@pytest.mark.parametrize(
    ("rule", "over"),
    [
        ("surgery_later", comorb(planned_surgery_date="2025-04-15")),
        ("dental_procedure_later", comorb(planned_dental_procedure_date="2025-04-15")),
    ],
)
def test_cabozantinib_procedures_beyond_the_hold_stay_planning_notes(
    rule: str, over: dict[str, Any], akb: AgentKnowledge
) -> None:
    assert items("cabozantinib", over, akb)[rule].severity == "info"


# ------------------------------------------------------------------------ sunitinib: the same wound-healing holds


@pytest.mark.parametrize(
    ("rule", "over"),
    [
        ("recent_major_surgery", comorb(recent_major_surgery_date="2025-02-22")),  # 7 days before as_of
        ("wound_not_healed", comorb(wound_healed=False)),
        ("surgery_within_3_weeks", comorb(planned_surgery_date="2025-03-15")),
    ],
)
def test_sunitinib_wound_healing_holds_are_critical_and_cite_the_label_section(
    rule: str, over: dict[str, Any], akb: AgentKnowledge
) -> None:
    it = items("sunitinib", over, akb)[rule]
    assert it.kind == "warning" and it.severity == "critical"
    assert it.action.startswith("Do not start")
    assert it.source.section == "5.14 Impaired Wound Healing"
    assert it.source.url == "https://www.pfizermedicalinformation.com/sutent/warnings"


def test_sunitinib_surgery_beyond_the_hold_is_a_planning_note(akb: AgentKnowledge) -> None:
    got = items("sunitinib", comorb(planned_surgery_date="2025-04-15"), akb)
    assert got["surgery_later"].severity == "info" and "surgery_within_3_weeks" not in got


# ------------------------------------------------------------------------ Lu-177 dotatate: footnote o


FOOTNOTE_O = ("ssa_trial_before_prrt", "reduced_efficacy_fdg_avid")


def test_footnote_o_is_not_applied_outside_the_wd_g3_table(akb: AgentKnowledge) -> None:
    # QA e11: GI G2, FDG-avid, progressed on lanreotide
    gi_g2 = {"tumor": {"primary_site": "colon", "grade": "G2", "fdg_avid": True}, **AFTER_LANREOTIDE}
    found = items("lu177_dotatate", gi_g2, akb)
    assert not [k for k in found if k in FOOTNOTE_O]
    assert not [i for i in found.values() if "footnote o" in i.finding.lower() + i.action.lower()]


def test_footnote_o_in_wd_g3_without_ssa(akb: AgentKnowledge) -> None:
    found = items("lu177_dotatate", {"tumor": {**WD_G3, "fdg_avid": True}}, akb)
    assert found["ssa_trial_before_prrt"].severity == "info"
    assert "SSA" in found["ssa_trial_before_prrt"].action
    assert found["reduced_efficacy_fdg_avid"].severity == "info"
    assert found["reduced_efficacy_fdg_avid"].source.section.startswith("WD G3 table")


def test_no_ssa_trial_advice_once_an_ssa_was_received(akb: AgentKnowledge) -> None:
    found = items("lu177_dotatate", {"tumor": {**WD_G3, "fdg_avid": True}, **AFTER_LANREOTIDE}, akb)
    assert "ssa_trial_before_prrt" not in found
    assert "reduced_efficacy_fdg_avid" in found  # the efficacy signal still stands
    assert not [i for i in found.values() if re.search(r"trial of (a )?(long-acting )?SSA", i.action)]


def test_grade_3_is_not_read_as_a_high_ki67(akb: AgentKnowledge) -> None:
    # WD G3, not FDG-avid, SSA already given: footnote o has nothing left to say
    found = items("lu177_dotatate", {"tumor": {**WD_G3, "fdg_avid": False}, **AFTER_LANREOTIDE}, akb)
    assert not [i for i in found.values() if "footnote o" in (i.finding + i.action).lower()]


# ------------------------------------------------------------------------ monograph texts name no other agent

# a named agent that belongs in an item: given together or timed by the label (agent, item id, named agent)
ALLOWED = {
    ("leucovorin", "fluorouracil_toxicity", "fluorouracil"),  # given with it; the label's warning
    ("lu177_dotatate", "ssa_timing", "octreotide"),  # label 2.3: SSA timing around each dose
    ("lu177_dotatate", "ssa_timing", "octreotide_lar"),
    ("lanreotide", "prrt_timing", "lu177_dotatate"),
    ("octreotide", "prrt_timing", "lu177_dotatate"),
    ("octreotide_lar", "prrt_timing", "lu177_dotatate"),
    ("nivolumab", "subcutaneous_form", "ipilimumab"),  # footnote p
    ("temozolomide", "dacarbazine_hypersensitivity", "dacarbazine"),  # label contraindication
}


def _names(akb: AgentKnowledge) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a, m in akb.agents.items():
        names = {a.replace("_", " "), *(b.lower() for b in m.brands)}
        if a.startswith("octreotide"):
            names = {"octreotide", "sandostatin"}
        if a == "lu177_dotatate":
            names |= {"lutetium", "lu 177", "lu-177", "prrt"}
        out[a] = names
    return out


def test_monograph_items_name_no_other_agent(akb: AgentKnowledge) -> None:
    names = _names(akb)
    found = []
    for agent, mono in akb.agents.items():
        texts = [(w.id, f"{w.finding} {w.action}") for w in mono.warnings]
        texts += [(a.id, f"{a.finding} {a.action} {a.effect.text}") for a in mono.adjustments]
        texts += [(m.id, m.what) for m in mono.monitoring]
        for ident, text in texts:
            low = text.lower()
            for other, words in names.items():
                if other == agent or words & names[agent]:
                    continue
                if any(re.search(rf"\b{re.escape(w)}\b", low) for w in words):
                    found.append((agent, ident, other))
    assert sorted(set(found) - ALLOWED) == []


# ------------------------------------------------------------------------ cabozantinib indication


def test_no_prior_systemic_therapy_is_noted_against_the_indication(akb: AgentKnowledge) -> None:
    it = items("cabozantinib", {"treatments": []}, akb)["indication_previously_treated"]
    assert it.severity == "info" and it.kind == "warning"
    assert "previously treated" in it.finding
    assert it.source.seed == "003" and "140-142" in it.source.section


def test_radiotherapy_alone_is_not_prior_systemic_therapy(akb: AgentKnowledge) -> None:
    over = {"treatments": [{"agent": "radiotherapy", "start": "2024-01-01"}]}
    assert "indication_previously_treated" in items("cabozantinib", over, akb)


def test_prior_systemic_therapy_satisfies_the_indication_note(akb: AgentKnowledge) -> None:
    assert "indication_previously_treated" not in items("cabozantinib", AFTER_LANREOTIDE, akb)


def test_unrecorded_history_leaves_the_indication_not_assessed(akb: AgentKnowledge) -> None:
    it = items("cabozantinib", {"treatments": ...}, akb)["indication_previously_treated"]
    assert it.kind == "not_assessed" and it.severity == "info" and it.fields == ["treatments"]
    assert "previously treated" in it.finding
