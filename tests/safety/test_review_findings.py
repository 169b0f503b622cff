"""Clinical QA review of the safety data: cabozantinib 'do not give' severities, footnote o kept to the WD G3
table, monograph texts that name other agents, cabozantinib's previously-treated indication; then Lu-177
renal, blood-count and bilirubin rules (on-treatment toxicity vs baseline before a first dose), insulinoma
hypoglycemia, rifapentine as a strong CYP3A4 inducer, and a dose below the lowest labelled dose read as not
determined."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import pytest

from netcds.fhir.card_base import AgentScreenView
from netcds.fhir.cards import order_cards
from netcds.safety import AgentKnowledge, AgentScreen, SafetyItem, screen_agent
from netcds.safety.adjusted_dose import NO_DOSE
from tests.safety.conftest import comorb, meds, patient

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
    # what the label says, in words: never an order to the prescriber ("Do not start")
    assert "label" in it.finding + it.action and not it.action.startswith(("Do not", "Stop"))


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
    assert it.action.startswith("Under the label, sunitinib starts")
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
    ("lu177_dotatate", "ongoing_long_acting_ssa", "octreotide"),  # label 2.3: stop long-acting SSAs first
    ("lu177_dotatate", "ongoing_long_acting_ssa", "octreotide_lar"),
    ("lu177_dotatate", "ongoing_long_acting_ssa", "lanreotide"),
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


# ------------------------------------------------------------------------ Lu-177: renal toxicity vs baseline renal function

AFTER_PRRT = {"treatments": [{"agent": "lu177_dotatate", "start": "2024-10-01", "end": "2025-01-20"}]}


def crcl(value: Any) -> dict[str, Any]:
    return comorb(creatinine_clearance_ml_min=value)


@pytest.mark.parametrize("value", [35, 39.9, 60])
def test_first_course_with_mild_or_moderate_renal_impairment_keeps_the_full_dose(
    value: float, akb: AgentKnowledge
) -> None:
    # label 8.6: creatinine clearance 30-89 mL/min, no dose change; Table 2 is for toxicity on treatment
    s = screen_agent("lu177_dotatate", patient(crcl(value)), akb)
    assert s.dose.adjusted is None and s.dose.adjusted_amount is None and s.dose.pending == []
    assert not any(r.startswith("renal_toxicity") for r in s.dose.rules_applied)
    found = {i.id: i for i in s.safety}
    assert "renal_toxicity" not in found
    mild = found["renal_impairment_mild_moderate"]
    assert mild.kind == "warning" and "no dose change" in mild.finding
    assert "8.6" in mild.source.section
    assert not [i for i in s.safety if "3.7" in i.finding + i.action and i.kind != "monitoring"]


def test_low_clearance_after_earlier_lutathera_is_renal_toxicity(akb: AgentKnowledge) -> None:
    s = screen_agent("lu177_dotatate", patient({**crcl(35), **AFTER_PRRT}), akb)
    assert s.dose.adjusted_amount == 3.7
    assert s.dose.adjusted is not None and "withhold until recovery, then 3.7 GBq" in s.dose.adjusted
    found = {i.id: i for i in s.safety}
    assert found["renal_toxicity"].kind == "adjustment"
    # the 'no dose change' note would contradict the withhold-and-reduce rule: it is not shown
    assert "renal_impairment_mild_moderate" not in found


def test_unrecorded_history_leaves_the_renal_toxicity_rule_not_assessed(akb: AgentKnowledge) -> None:
    s = screen_agent("lu177_dotatate", patient({**crcl(35), "treatments": ...}), akb)
    assert s.dose.adjusted_amount is None and s.dose.adjusted is None
    assert any(p.startswith("renal_toxicity: needs treatments") for p in s.dose.pending)
    na = [i for i in s.safety if i.kind == "not_assessed" and i.fields == ["treatments"]]
    assert len(na) == 1 and "renal toxicity" in na[0].finding
    # neither "no dose change" nor "withhold" is claimed while the history is unknown
    assert not [i for i in s.safety if i.kind in ("warning", "adjustment") and "renal" in i.id]


@pytest.mark.parametrize("history", [{}, AFTER_PRRT])
def test_severe_renal_impairment_gives_no_dose(history: dict[str, Any], akb: AgentKnowledge) -> None:
    s = screen_agent("lu177_dotatate", patient({**crcl(25), **history}), akb)
    d = s.dose
    assert d.adjusted_amount is None and d.adjusted is not None
    assert "not determined: no labelled dose below a creatinine clearance of 30 mL/min" in d.adjusted
    assert "3.7" not in d.adjusted
    item_ = {i.id: i for i in s.safety}["renal_impairment_severe"]
    assert item_.severity == "warning" and "not been studied" in item_.finding
    assert "8.6" in item_.source.section
    if not history:
        assert d.adjusted.startswith(NO_DOSE)


def test_clearance_unknown_is_not_read_as_normal(akb: AgentKnowledge) -> None:
    s = screen_agent("lu177_dotatate", patient(crcl(...)), akb)
    assert any(p.startswith("renal_impairment_severe: needs comorbidities.creatinine_clearance_ml_min")
               for p in s.dose.pending)  # fmt: skip
    assert any(i.kind == "not_assessed" and "comorbidities.creatinine_clearance_ml_min" in i.fields
               for i in s.safety)  # fmt: skip


# ------------------------------------------------------------------------ Lu-177: counts and bilirubin, on treatment vs first dose


class Pair(NamedTuple):
    """An on-treatment rule of label 2.4 and what replaces it before a first dose."""

    rule: str  # withhold, then 3.7 GBq: only after an earlier LUTATHERA dose
    first: str  # the item before a first dose
    low: dict[str, Any]
    normal: dict[str, Any]
    text: str  # the on-treatment rule's dose text
    word: str  # what the label gives no baseline criterion for


PAIRS = [
    Pair("thrombocytopenia", "thrombocytopenia_before_first_dose", comorb(platelets_per_ul=60000),
         comorb(platelets_per_ul=150000), "withhold to grade 0-1, then 3.7 GBq (100 mCi)", "platelet"),
    Pair("anemia", "anemia_before_first_dose", comorb(hemoglobin_g_dl=7.5),
         comorb(hemoglobin_g_dl=12), "withhold to grade 0-2, then 3.7 GBq (100 mCi)", "hemoglobin"),
    Pair("neutropenia", "neutropenia_before_first_dose", comorb(neutrophils_per_ul=800),
         comorb(neutrophils_per_ul=3000), "withhold to grade 0-2, then 3.7 GBq (100 mCi)", "neutrophil"),
    Pair("hepatotoxicity", "hepatic_impairment_severe", comorb(bilirubin_x_uln=3.5),
         comorb(bilirubin_x_uln=1), "withhold until resolved, then 3.7 GBq (100 mCi)", "bilirubin"),
]  # fmt: skip
COUNTS = PAIRS[:3]
NEVER_TREATED = {"treatments": [{"agent": "lanreotide", "start": "2023-01-10", "progressed": True}]}
FIRST_DOSE = pytest.mark.parametrize(
    "history", [{"treatments": []}, NEVER_TREATED], ids=["none", "other_agents"]
)


def lu(over: dict[str, Any], akb: AgentKnowledge) -> AgentScreen:
    return screen_agent("lu177_dotatate", patient(over), akb)


@pytest.mark.parametrize("c", PAIRS, ids=lambda c: c.rule)
def test_low_value_after_earlier_lutathera_withholds_then_reduces_to_3_7_gbq(
    c: Pair, akb: AgentKnowledge
) -> None:
    s = lu({**c.low, **AFTER_PRRT}, akb)
    assert s.dose.adjusted_amount == 3.7 and s.dose.unit == "GBq"
    assert s.dose.adjusted is not None and "withhold until recovery, then 3.7 GBq" in s.dose.adjusted
    assert any(r.startswith(c.rule) and c.text in r for r in s.dose.rules_applied)
    found = {i.id: i for i in s.safety}
    it = found[c.rule]
    assert it.kind == "adjustment" and it.severity == "warning"
    assert "after earlier LUTATHERA" in it.finding and "3.7 GBq" in it.action
    assert "treatments" in it.fields
    assert "2.4" in it.source.section
    assert c.first not in found  # the pre-first-dose item does not contradict the withhold-and-reduce rule


@FIRST_DOSE
@pytest.mark.parametrize("c", COUNTS, ids=lambda c: c.rule)
def test_low_count_before_a_first_dose_warns_without_changing_the_dose(
    history: dict[str, Any], c: Pair, akb: AgentKnowledge
) -> None:
    # label 2.4 withholds for myelosuppression ON treatment; it sets no baseline count criterion
    s = lu({**c.low, **history}, akb)
    d = s.dose
    assert d.adjusted is None and d.adjusted_amount is None and d.pending == []
    assert not any(r.startswith(c.rule) for r in d.rules_applied)
    found = {i.id: i for i in s.safety}
    assert c.rule not in found
    it = found[c.first]
    assert it.kind == "warning" and it.severity == "warning" and it.verified
    assert "before a first dose" in it.finding and f"no baseline {c.word} criterion" in it.finding
    assert (
        "clinical judgement" in it.action
        and "withhold-and-reduce rule is for counts that fall on treatment" in it.action
    )
    assert "Myelosuppression" in it.source.section
    assert not [i for i in s.safety if "3.7" in i.finding + i.action and i.kind != "monitoring"]


@FIRST_DOSE
def test_bilirubin_over_3x_uln_before_a_first_dose_gives_no_dose(
    history: dict[str, Any], akb: AgentKnowledge
) -> None:
    # label, Use in Specific Populations: severe hepatic impairment (total bilirubin > 3 x ULN) not studied
    s = lu({**comorb(bilirubin_x_uln=3.5), **history}, akb)
    d = s.dose
    assert d.adjusted_amount is None and d.adjusted is not None
    assert d.adjusted.startswith(NO_DOSE)  # verified rule: no UNVERIFIED mark
    assert "not determined: no labelled dose with total bilirubin over 3 x ULN" in d.adjusted
    assert "not studied" in d.adjusted and "3.7" not in d.adjusted
    assert d.unverified == []
    found = {i.id: i for i in s.safety}
    assert "hepatotoxicity" not in found
    it = found["hepatic_impairment_severe"]
    assert it.kind == "adjustment" and it.severity == "warning" and it.verified
    assert "not been studied" in it.finding and "Hepatic Impairment" in it.source.section
    assert not [i for i in s.safety if "3.7" in i.finding and i.kind != "monitoring"]


@pytest.mark.parametrize("c", PAIRS, ids=lambda c: c.rule)
def test_unrecorded_history_leaves_the_on_treatment_rule_not_assessed(c: Pair, akb: AgentKnowledge) -> None:
    # unknown is not "never treated": neither the 3.7 GBq rule nor the first-dose item is claimed
    s = lu({**c.low, "treatments": ...}, akb)
    d = s.dose
    assert d.adjusted is None and d.adjusted_amount is None
    assert f"{c.rule}: needs treatments" in d.pending
    assert not any(r.startswith((c.rule, c.first)) for r in d.rules_applied)
    na = [i for i in s.safety if i.kind == "not_assessed" and i.fields == ["treatments"]]
    assert len(na) == 1 and na[0].severity == "info"
    assert "after earlier LUTATHERA" in na[0].finding and "before a first dose" in na[0].finding
    assert not [i for i in s.safety if i.id in (c.rule, c.first) and i.kind != "not_assessed"]


@pytest.mark.parametrize("history", [{"treatments": []}, AFTER_PRRT, {"treatments": ...}],
                         ids=["none", "after_prrt", "unrecorded"])  # fmt: skip
@pytest.mark.parametrize("c", PAIRS, ids=lambda c: c.rule)
def test_normal_value_gives_nothing_whatever_the_history(
    history: dict[str, Any], c: Pair, akb: AgentKnowledge
) -> None:
    s = lu({**c.normal, **history}, akb)
    assert s.dose.adjusted is None and s.dose.pending == []
    assert not [i for i in s.safety if i.id in (c.rule, c.first)]
    # (an unrecorded history still leaves the SSA-timing check, ongoing_long_acting_ssa, not assessed)
    assert not [i for i in s.safety if i.kind == "not_assessed" and i.id != "ongoing_long_acting_ssa"]


def test_history_decides_between_toxicity_and_baseline_impairment_at_the_same_bilirubin(
    akb: AgentKnowledge,
) -> None:
    # the two rules share the > 3 x ULN cut-off and never apply together
    cases: list[tuple[dict[str, Any], str, str]] = [
        (AFTER_PRRT, "hepatotoxicity", "hepatic_impairment_severe"),
        ({"treatments": []}, "hepatic_impairment_severe", "hepatotoxicity"),
    ]
    for history, rule, other in cases:
        for value in (3.01, 5):
            found = {i.id for i in lu({**comorb(bilirubin_x_uln=value), **history}, akb).safety}
            assert rule in found and other not in found
        assert not {rule, other} & {i.id for i in lu({**comorb(bilirubin_x_uln=3), **history}, akb).safety}


def test_first_dose_items_do_not_contradict_an_undetermined_dose(akb: AgentKnowledge) -> None:
    # low platelets and bilirubin over 3 x ULN before a first dose: no labelled dose (hepatic, not studied);
    # the count warning must not claim the dose is unchanged, and nothing offers 3.7 GBq
    s = lu(comorb(platelets_per_ul=60000, bilirubin_x_uln=4), akb)
    assert s.dose.adjusted is not None and s.dose.adjusted.startswith(NO_DOSE)
    found = {i.id: i for i in s.safety}
    assert {"thrombocytopenia_before_first_dose", "hepatic_impairment_severe"} <= set(found)
    assert not {"thrombocytopenia", "hepatotoxicity"} & set(found)
    loud = [i for i in s.safety if i.kind in ("warning", "adjustment")]
    assert not [i.id for i in loud if "no dose change" in (i.finding + i.action).lower()]
    assert not [i.id for i in loud if "3.7" in i.finding + i.action and i.id != "hepatic_impairment_severe"]


# ------------------------------------------------------------------------ insulinoma: hypoglycemia

INSULINOMA = {"tumor": {"functional": True, "syndromes": ["insulinoma"]}}


@pytest.mark.parametrize(("agent", "section"), [
    ("sunitinib", "Hypoglycemia"),
    # the octreotide items rest on the one source seen to name insulinoma (the US glucose warning is in `also`)
    ("octreotide", "insulinoma"),
    ("octreotide_lar", "insulinoma"),
])  # fmt: skip
def test_functional_insulinoma_without_diabetes_gets_a_hypoglycemia_warning(
    agent: str, section: str, akb: AgentKnowledge
) -> None:
    found = items(agent, INSULINOMA, akb)  # diabetes recorded as absent
    it = found["insulinoma_hypoglycemia"]
    assert it.kind == "warning" and it.severity == "warning"
    assert "insulinoma" in it.finding.lower() and "hypoglycemia" in it.finding.lower()
    assert "glucose" in it.action.lower()
    assert section in it.source.section
    assert "diabetes_hypoglycemia" not in found and "diabetes_glucose" not in found


@pytest.mark.parametrize("agent", ["sunitinib", "octreotide", "octreotide_lar"])
def test_insulinoma_unknown_syndromes_is_not_assessed(agent: str, akb: AgentKnowledge) -> None:
    found = items(agent, {"tumor": {"functional": True, "syndromes": ...}}, akb)
    assert "insulinoma_hypoglycemia" not in found or found["insulinoma_hypoglycemia"].kind == "not_assessed"
    na = [i for i in found.values() if i.kind == "not_assessed" and "tumor.syndromes" in i.fields]
    assert na and "insulinoma" in na[0].finding.lower()
    # a non-functional tumor has no insulinoma: nothing to assess
    assert not [i for i in items(agent, {"tumor": {"functional": False, "syndromes": ...}}, akb).values()
                if "tumor.syndromes" in i.fields]  # fmt: skip


# ------------------------------------------------------------------------ rifapentine: strong CYP3A4 inducer


def test_rifapentine_is_a_strong_cyp3a4_inducer(akb: AgentKnowledge) -> None:
    assert [m.generic for m in akb.registry.match(0, "Priftin")] == ["rifapentine"]
    s = screen_agent("sunitinib", patient(meds("rifapentine")), akb)
    assert s.dose.adjusted_mg == 62.5
    assert not [i for i in s.safety if i.kind in ("not_screened", "screened")]


@pytest.mark.parametrize("inhibitor", ["posaconazole", "itraconazole"])
def test_strong_inhibitor_with_rifapentine_leaves_the_dose_not_determined(
    inhibitor: str, akb: AgentKnowledge
) -> None:
    d = screen_agent("sunitinib", patient(meds(inhibitor, "rifapentine")), akb).dose
    assert d.adjusted_mg is None and d.adjusted_amount is None
    assert d.adjusted is not None and "not determined: the label gives no dose for" in d.adjusted
    assert any(r.startswith("strong_cyp3a4_inducer:") for r in d.rules_applied)
    assert "25 mg" not in d.adjusted


# ------------------------------------------------------------------------ below the lowest labelled dose

BELOW_MINIMUM = {
    "age_years": 13,
    "weight_kg": 35,
    **meds("ketoconazole"),
    **comorb(hepatic_impairment="moderate"),
}
DRAFT_20MG = {
    "resourceType": "MedicationRequest",
    "dosageInstruction": [{
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": {"value": 20, "unit": "mg", "system": "http://unitsofmeasure.org",
                                          "code": "mg"}}],
    }],
}  # fmt: skip


def test_dose_below_the_lowest_labelled_dose_is_not_determined(akb: AgentKnowledge) -> None:
    s = screen_agent("cabozantinib", patient(BELOW_MINIMUM), akb)  # 40 - 20 - 20 mg: below 20 mg daily
    d = s.dose
    assert d.adjusted_mg is None and d.adjusted_amount is None
    assert d.adjusted is not None and d.adjusted.startswith(NO_DOSE)
    assert d.adjusted.startswith("not determined: ") and "below the lowest labelled dose (20 mg" in d.adjusted
    assert "no labelled dose below" not in d.adjusted  # read as "give 20 mg"
    assert any(r.startswith("not determined:") for r in d.rules_applied)


def test_dose_below_the_lowest_labelled_dose_gets_no_order_suggestion(akb: AgentKnowledge) -> None:
    s = screen_agent("cabozantinib", patient(BELOW_MINIMUM), akb)
    view = AgentScreenView.from_screen("cabozantinib", s).with_label_dose(
        standard_mg=60, maximum_mg=80, schedule="orally once daily"
    )
    cards = order_cards(view, DRAFT_20MG, base_url="http://cds.example.test", seed="t")
    assert not any("suggestions" in c for c in cards)
    summaries = [c["summary"] for c in cards]
    assert any("not determined" in x for x in summaries)
    assert not any("consider 20 mg" in x for x in summaries)
