"""Independent review h5: doses that contradicted their safety item, out-of-date fluoropyrimidine labels,
SSA interactions with antidiabetic drugs, SSA timing before Lu-177, severity of "avoid" rules, the
temozolomide renal threshold (per m2), and item sources.

1. A rule that says the label gives no dose (not studied, no data) or a lower starting dose is a dose rule:
   the dose says it ("not determined", or the starting dose) with the rule and its source, and no other rule
   brings an amount back.
2. XELODA and fluorouracil carry a boxed warning on complete DPD deficiency (DPYD test before the first dose);
   the record has no DPYD field, so the check is a warning-level "not assessed", never a pass.
3. Insulin and oral antidiabetic drugs are screened against the SSAs (their labels' drug interactions).
4. An ongoing long-acting SSA course is flagged for Lu-177 dotatate (label 2.3: stop it 4 weeks before).
5. Every dose rule that says "avoid" is critical (docs: critical = do not start as things stand).
6. Temozolomide's renal threshold is the label's 36 mL/min/m2, compared as documented.
7. "Not screened" items cite netcds's own scope; AFINITOR's St. John's wort item is label-confirmed; the
   sunitinib hypertension action says what SUTENT says.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from netcds.patient import Patient
from netcds.safety import AgentKnowledge, screen_agent, screen_regimen
from netcds.safety.adjusted_dose import NO_DOSE, gives_no_dose
from netcds.safety.conditions import SafetyConditionError, parse_safety_condition
from netcds.safety.models import SafetyItem
from tests.safety.conftest import comorb, meds, patient

NOT_DETERMINED, PENDING = NO_DOSE[1], NO_DOSE[2]
EXAMPLE = Path(__file__).parents[2] / "examples" / "patients" / "small_bowel_after_ssa.json"


def found(items: list[SafetyItem], ident: str) -> SafetyItem:
    (it,) = [i for i in items if i.id == ident]
    return it


def no_amount(agent: str, over: dict[str, Any], akb: AgentKnowledge) -> Any:
    d = screen_agent(agent, patient(over), akb).dose
    assert d.adjusted is not None and d.adjusted.startswith(NOT_DETERMINED) and gives_no_dose(d.adjusted)
    assert d.adjusted_mg is None and d.adjusted_amount is None
    return d


# ------------------------------------------------------------------------- 1. no labelled dose: no amount

SEVERE = comorb(hepatic_impairment="severe")


@pytest.mark.parametrize(
    "drug", [None, "clarithromycin", "Tegretol"], ids=["alone", "strong_inhibitor", "strong_inducer"]
)
def test_sunitinib_child_pugh_c_gives_no_dose_whatever_else_applies(
    drug: str | None, akb: AgentKnowledge
) -> None:
    over = {**SEVERE, **(meds(drug) if drug else {})}
    d = no_amount("sunitinib", over, akb)
    assert "not studied" in d.adjusted and "62.5" not in d.adjusted and "25 mg" not in d.adjusted
    assert d.rules_applied[0].startswith("hepatic_severe:")
    it = found(screen_agent("sunitinib", patient(over), akb).safety, "hepatic_severe")
    assert it.kind == "adjustment" and it.severity == "warning" and "no dose" in it.finding
    assert "Hepatic Impairment" in it.source.section and it.source.url
    # Child-Pugh B: no change; unknown class: pending, never read as none
    assert (
        screen_agent("sunitinib", patient(comorb(hepatic_impairment="moderate")), akb).dose.adjusted is None
    )
    unknown = screen_agent("sunitinib", patient(comorb(hepatic_impairment=None)), akb).dose
    assert "hepatic_severe: needs comorbidities.hepatic_impairment" in unknown.pending


@pytest.mark.parametrize(
    "over",
    [comorb(hepatic_impairment="moderate"), comorb(hepatic_impairment="severe"), comorb(bilirubin_x_uln=1.6)],
    ids=["child_pugh_b", "child_pugh_c", "bilirubin_1_6_uln"],
)
def test_belzutifan_moderate_or_severe_hepatic_impairment_gives_no_dose(over: dict[str, Any],
                                                                        akb: AgentKnowledge) -> None:  # fmt: skip
    d = no_amount("belzutifan", over, akb)
    assert [r.split(":")[0] for r in d.rules_applied] == ["hepatic_moderate_severe"]
    it = found(screen_agent("belzutifan", patient(over), akb).safety, "hepatic_moderate_severe")
    assert it.kind == "adjustment" and "Hepatic Impairment" in it.source.section and it.source.url
    mild = screen_agent("belzutifan", patient(comorb(hepatic_impairment="mild", bilirubin_x_uln=1.5)), akb)
    assert mild.dose.adjusted is None and mild.dose.adjusted_mg is None  # 120 mg: no rule applies


@pytest.mark.parametrize("cp", ["mild", "moderate", "severe"])
def test_octreotide_lar_with_hepatic_impairment_names_both_starting_doses(
    cp: str, akb: AgentKnowledge
) -> None:
    """A Child-Pugh class of any cause (often liver metastases in NETs) is not cirrhosis: the 10 mg start is the
    label's for cirrhosis, so the dose is not determined and the finding names both doses (QA, session 39;
    until then any class was read as cirrhosis and 10 mg shown)."""
    s = screen_agent("octreotide_lar", patient(comorb(hepatic_impairment=cp)), akb)
    d = s.dose
    assert d.adjusted_mg is None and d.adjusted is not None and d.adjusted.startswith(NOT_DETERMINED)
    assert "10 mg" in d.adjusted and "if the hepatic impairment is cirrhosis" in d.adjusted
    assert "20-30 mg" in d.adjusted
    it = found(s.safety, "hepatic_cirrhosis")
    assert it.kind == "adjustment" and "10 mg" in it.action and "cirrhosis" in it.source.section
    assert "does not say whether" in it.finding
    # the above-label escalation (up to 60 mg) gets no amount either
    rs = screen_regimen("ssa_above_label", patient(comorb(hepatic_impairment=cp)), akb)
    (lar,) = [x for x in rs.doses if x.agent == "octreotide_lar"]
    assert lar.adjusted is not None and lar.adjusted.startswith(NOT_DETERMINED) and lar.adjusted_mg is None


def test_octreotide_lar_without_cirrhosis_or_unknown(akb: AgentKnowledge) -> None:
    assert screen_agent("octreotide_lar", patient(), akb).dose.adjusted is None  # recorded "none"
    d = screen_agent("octreotide_lar", patient(comorb(hepatic_impairment=None)), akb).dose
    assert d.adjusted is None and d.adjusted_mg is None  # no amount claimed for the unknown
    assert "hepatic_cirrhosis: needs comorbidities.hepatic_impairment" in d.pending


@pytest.mark.parametrize(
    ("agent", "over", "rule"),
    [
        ("etoposide", comorb(creatinine_clearance_ml_min=10), "renal_severe"),
        ("carboplatin", comorb(creatinine_clearance_ml_min=12), "renal_below_15"),
        ("irinotecan", comorb(bilirubin_x_uln=2.5), "bilirubin_over_2_uln"),
    ],
)
def test_other_no_dose_statements_found_in_the_scan_are_dose_rules(agent: str, over: dict[str, Any], rule: str,
                                                                  akb: AgentKnowledge) -> None:  # fmt: skip
    d = no_amount(agent, over, akb)
    assert [r.split(":")[0] for r in d.rules_applied] == [rule]


def test_no_warning_or_monitoring_text_claims_no_labelled_dose(akb: AgentKnowledge) -> None:
    # "the label gives no dose" is a dose rule (effect avoid/undetermined), never a bare warning beside a dose
    pattern = re.compile(r"no labelled dose|gives no dose|not recommend a dose|cannot recommend", re.I)
    bad = []
    for agent, mono in akb.agents.items():
        texts = [(w.id, f"{w.finding} {w.action}") for w in mono.warnings] + [
            (m.id, m.what) for m in mono.monitoring
        ]
        bad += [(agent, ident) for ident, text in texts if pattern.search(text)]
        for a in mono.adjustments:
            if pattern.search(a.finding) and not (a.effect.avoid or a.effect.undetermined):
                bad.append((agent, a.id))
    # irinotecan's 1-2 x ULN warning states the 2 mg/dL limit the laboratory's ULN decides
    assert sorted(bad) == [("irinotecan", "bilirubin_elevated")]


def _order_cards(agent: str, over: dict[str, Any], mg: float) -> list[dict[str, Any]]:
    from netcds.api.optional import screen
    from netcds.fhir.cards import order_cards

    data = json.loads(EXAMPLE.read_text())
    view = screen(agent, Patient.model_validate({**data, **over}))
    assert view is not None
    draft = {
        "resourceType": "MedicationRequest", "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"text": f"{agent} {mg:g} mg"},
        "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg", "code": "mg"}}]}],
    }  # fmt: skip
    return order_cards(view, draft, base_url="http://cds.example.test", seed="s")


def test_order_sign_for_sunitinib_in_child_pugh_c_offers_no_dose() -> None:
    over = {"comorbidities": {"hepatic_impairment": "severe"}, "medications": ["clarithromycin"]}
    cards = _order_cards("sunitinib", over, 37.5)
    assert not any("suggestions" in c for c in cards)  # neither 25 mg nor 37.5 mg is offered
    lines = [ln for c in cards for ln in c["detail"].split("\n\n")]
    dose = [ln for ln in lines if ln.startswith("**Label-based dose for this patient:**")]
    assert dose and all("not determined" in ln and "25 mg" not in ln.split("(standard")[0] for ln in dose)


# ------------------------------------------------------------------------- 2. DPD deficiency (boxed warning)


@pytest.mark.parametrize(("agent", "set_id"), [("capecitabine", "e702d84d-7162-4751-bf37-d724cc7e45a5"),
                                              ("fluorouracil", "de8a3fce-85a9-4a77-a3cd-e50179b93098")])  # fmt: skip
def test_dpyd_boxed_warning_is_said_and_never_passed(agent: str, set_id: str, akb: AgentKnowledge) -> None:
    s = screen_agent(agent, patient(), akb)  # every recorded fact unremarkable: still not assessed
    it = found(s.safety, "dpyd_testing")
    assert it.kind == "not_assessed" and it.severity == "warning" and it.verified
    assert it.finding.startswith("not assessed: DPYD genotype / DPD status (not a field of the record)")
    assert "boxed warning" in it.finding and "before" in it.finding and "not assessed" in it.action
    assert set_id in (it.source.url or "") and it.source.date and "Boxed Warning" in it.source.section
    assert not [i for i in s.safety if i.id == "dpd"]  # the old info note citing an older section is gone
    mono = akb.agents[agent]
    assert all("5.4" not in m.source.section for m in mono.monitoring)


def test_capecitabine_label_revision_is_recorded(akb: AgentKnowledge) -> None:
    src = akb.agents["capecitabine"].sources["label_current"]
    assert src.date == "2025-10" and "boxed warning" in src.document
    rs = screen_regimen("rt_fluoropyrimidine", patient(), akb)
    assert {i.agent for i in rs.safety if i.id == "dpyd_testing"} == {"capecitabine", "fluorouracil"}


# ------------------------------------------------------------------------- 3. SSAs and antidiabetic drugs


@pytest.mark.parametrize("agent", ["octreotide_lar", "lanreotide", "octreotide"])
def test_ssa_flags_insulin_and_oral_antidiabetics(agent: str, akb: AgentKnowledge) -> None:
    over = meds("insulin glargine", "metformin", "cyclosporine", "metoprolol")  # the reviewed record (p07)
    s = screen_agent(agent, patient(over), akb)
    it = found(s.safety, "antidiabetic_drugs")
    assert it.kind == "warning" and it.severity == "warning"
    assert it.fields == ["medications[0]", "medications[1]"]
    assert "insulin glargine" in it.finding and "metformin" in it.finding
    assert "hypoglycemic" in it.source.section.lower() and it.source.url
    assert not [i for i in s.safety if i.kind == "not_screened"]  # metformin is no longer "not screened"


@pytest.mark.parametrize("name", ["Lantus", "metformin hydrochloride 500 mg tablets", "Januvia", "glipizide",
                                  "insulin lispro 10 units", "Ozempic"])  # fmt: skip
def test_antidiabetic_names_are_recognised(name: str, akb: AgentKnowledge) -> None:
    (m,) = akb.registry.match(0, name)
    assert m.generic is not None and "antidiabetic" in m.classes


def test_antidiabetic_check_with_no_medication_list_is_not_assessed(akb: AgentKnowledge) -> None:
    s = screen_agent("lanreotide", patient({"medications": ...}), akb)
    assert not [i for i in s.safety if i.id == "antidiabetic_drugs" and i.kind == "warning"]
    assert any(i.kind == "not_assessed" and i.fields == ["medications"] for i in s.safety)


# ------------------------------------------------------------------------- 4. ongoing SSA before Lu-177

LANREOTIDE_ONGOING = {"treatments": [{"agent": "lanreotide", "start": "2023-01-10"}]}


def test_ongoing_lanreotide_is_flagged_before_lu177(akb: AgentKnowledge) -> None:
    s = screen_agent("lu177_dotatate", patient(LANREOTIDE_ONGOING), akb)
    it = found(s.safety, "ongoing_long_acting_ssa")
    assert it.kind == "warning" and it.severity == "warning" and it.fields == ["treatments[0].end"]
    assert "4 weeks" in it.finding and "no end recorded" in it.finding
    assert "2.3" in it.source.section and it.source.url
    assert any(i.id == "ssa_timing" and i.kind == "monitoring" for i in s.safety)  # the general note stays


@pytest.mark.parametrize(
    ("end", "fires"),
    [("2025-02-20", True), ("2025-02-02", True), ("2025-02-01", False), ("2024-06-01", False)],
    ids=["9_days_ago", "27_days_ago", "28_days_ago", "months_ago"],
)
def test_recently_stopped_ssa_counts_until_4_weeks(end: str, fires: bool, akb: AgentKnowledge) -> None:
    over = {"treatments": [{"agent": "octreotide_lar", "start": "2023-01-10", "end": end}]}
    ids = {i.id for i in screen_agent("lu177_dotatate", patient(over), akb).safety if i.kind == "warning"}
    assert ("ongoing_long_acting_ssa" in ids) is fires


def test_ssa_course_unknown_or_absent(akb: AgentKnowledge) -> None:
    unknown = screen_agent("lu177_dotatate", patient({"treatments": ...}), akb)
    na = [i for i in unknown.safety if i.kind == "not_assessed" and "treatments" in i.fields]
    assert na and any("4 weeks" in i.finding for i in na)
    assert not [i for i in unknown.safety if i.id == "ongoing_long_acting_ssa" and i.kind == "warning"]
    for over in ({"treatments": []}, {"treatments": [{"agent": "octreotide", "start": "2024-01-01"}]}):
        s = screen_agent("lu177_dotatate", patient(over), akb)
        assert not [i for i in s.safety if i.id == "ongoing_long_acting_ssa"]
        assert any(i.id == "ssa_timing" for i in s.safety)


def test_ongoing_condition_checks_its_agents() -> None:
    with pytest.raises(SafetyConditionError):
        parse_safety_condition({"ongoing": ["not_an_agent"]})
    with pytest.raises(SafetyConditionError):
        parse_safety_condition({"ongoing": ["lanreotide"], "ended_within_days": 0})


# ------------------------------------------------------------------------- 5. severities of "avoid"


def test_every_avoid_dose_rule_is_critical(akb: AgentKnowledge) -> None:
    avoid = [
        (agent, a.id, a.severity) for agent, m in akb.agents.items() for a in m.adjustments if a.effect.avoid
    ]
    assert avoid and all(sev == "critical" for _, _, sev in avoid), avoid
    # a situation with no labelled dose that the label does not say to avoid (not studied, no data): warning
    unlabelled = [(agent, a.id, a.severity) for agent, m in akb.agents.items() for a in m.adjustments
                  if a.effect.undetermined]  # fmt: skip
    assert unlabelled and all(sev == "warning" for _, _, sev in unlabelled), unlabelled
    s = screen_agent("everolimus", patient(meds("clarithromycin")), akb)
    assert s.dose.adjusted is not None and s.dose.adjusted.startswith("avoid")
    assert found(s.safety, "strong_cyp3a4_inhibitor").severity == "critical"


@pytest.mark.parametrize(
    ("drug", "rule"), [("rifampin", "strong_cyp3a4_inducer"), ("ketoconazole", "strong_inhibitors")]
)
def test_irinotecan_do_not_administer_rules_give_no_dose(drug: str, rule: str, akb: AgentKnowledge) -> None:
    s = screen_agent("irinotecan", patient(meds(drug)), akb)
    assert s.dose.adjusted is not None and s.dose.adjusted.startswith("avoid")
    assert found(s.safety, rule).severity == "critical"


# ------------------------------------------------------------------------- 6. temozolomide, per m2


@pytest.mark.parametrize(("crcl", "fires"), [(20, True), (30, True), (35.9, True), (36, False), (45, False)])
def test_temozolomide_renal_threshold_is_the_labels_36_per_m2(crcl: float, fires: bool,
                                                             akb: AgentKnowledge) -> None:  # fmt: skip
    s = screen_agent("temozolomide", patient(comorb(creatinine_clearance_ml_min=crcl)), akb)
    hit = [i for i in s.safety if i.id == "renal_below_studied"]
    assert bool(hit) is fires
    if hit:
        (it,) = hit
        assert "36 mL/min/m2" in it.finding and "over 1 m2" in it.finding
        assert "12.3" in it.source.section and "8.6" in it.source.section
    else:  # not compared: the record has no body surface area
        note = found(s.safety, "renal_per_m2")
        assert note.kind == "monitoring" and "not compared" in note.finding


def test_temozolomide_renal_rule_no_longer_cites_fda_guidance(akb: AgentKnowledge) -> None:
    mono = akb.agents["temozolomide"]
    assert "fda_renal" not in mono.sources and not [w for w in mono.warnings if w.id == "renal_severe"]
    s = screen_agent("temozolomide", patient(comorb(creatinine_clearance_ml_min=None)), akb)
    assert any(
        i.kind == "not_assessed" and "comorbidities.creatinine_clearance_ml_min" in i.fields for i in s.safety
    )


# ------------------------------------------------------------------------- 7. sources and wording


def test_not_screened_items_cite_netcds_scope_not_the_fda_table(akb: AgentKnowledge) -> None:
    over = {"medications": ["xyzzy-unknown"], "comorbidities": {"other": ["gout"]}}
    for s in (screen_agent("cabozantinib", patient(over), akb), screen_regimen("folfox", patient(over), akb)):
        items = [i for i in s.safety if i.kind == "not_screened"]
        assert len(items) == 2
        for it in items:
            assert it.source.document.startswith("netcds drug-safety screening scope")
            assert "Table 1" not in it.source.section and "CYP3A" not in it.source.section
        med = next(i for i in items if i.fields == ["medications[0]"])
        assert "curated lists" in med.source.section


def test_everolimus_st_johns_wort_is_label_confirmed(akb: AgentKnowledge) -> None:
    it = found(screen_agent("everolimus", patient(meds("St. John's wort")), akb).safety, "st_johns_wort")
    assert it.verified and not it.finding.startswith("UNVERIFIED") and it.verification is None
    assert any("druglib" in (a.url or "") for a in it.source.also)


def test_sunitinib_hypertension_action_follows_the_label(akb: AgentKnowledge) -> None:
    it = found(screen_agent("sunitinib", patient(comorb(hypertension="uncontrolled")), akb).safety,
               "uncontrolled_hypertension")  # fmt: skip
    assert "before starting" not in it.action and "controlled before" not in it.action
    assert "suspends" in it.action and "monitors" in it.action
