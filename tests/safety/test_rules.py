"""Every mapped warning, adjustment and conditional monitoring item of every monograph, with one patient
that triggers it and one (usually a near miss) that does not. A meta-test keeps this table complete."""

from __future__ import annotations

from typing import Any

import pytest

from netcds.safety import AgentKnowledge, screen_agent
from tests.safety.conftest import comorb, meds, patient

PREG = {"pregnant": True}
NOT_PREG = {"pregnant": False}
BF = {"breastfeeding": True}
MALE_PREG_UNKNOWN = {"sex": "male", "pregnant": ...}
ILD = comorb(interstitial_lung_disease=True)
DIAB = comorb(diabetes=True)
QT = comorb(qt_prolongation=True)
WD_G3 = {"tumor": {"grade": "G3", "differentiation": "well"}}
AFTER_SSA = {"treatments": [{"agent": "lanreotide", "start": "2023-01-10"}]}
AFTER_PRRT = {"treatments": [{"agent": "lu177_dotatate", "start": "2024-10-01"}]}
INSULINOMA = {"tumor": {"functional": True, "syndromes": ["insulinoma"]}}
GASTRINOMA = {"tumor": {"functional": True, "syndromes": ["gastrinoma"]}}


def days(n: int) -> str:
    from datetime import date, timedelta

    return (date(2025, 3, 1) + timedelta(days=n)).isoformat()


# (agent, rule id, overrides that trigger it, overrides that do not)
CASES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    # ---------------------------------------------------------------- cabozantinib
    ("cabozantinib", "pediatric_under_40kg", {"age_years": 13, "weight_kg": 35}, {"age_years": 13, "weight_kg": 40}),
    ("cabozantinib", "hepatic_moderate", comorb(hepatic_impairment="moderate"), comorb(hepatic_impairment="mild")),
    ("cabozantinib", "hepatic_severe", comorb(hepatic_impairment="severe"), comorb(hepatic_impairment="moderate")),
    ("cabozantinib", "strong_cyp3a4_inhibitor", meds("clarithromycin"), meds("verapamil")),
    ("cabozantinib", "cyp3a4_inducer", meds("efavirenz"), meds("clarithromycin")),
    ("cabozantinib", "recent_hemorrhage", comorb(recent_hemorrhage=True), {}),
    ("cabozantinib", "gi_perforation_fistula_history", comorb(gi_perforation_or_fistula_history=True), {}),
    ("cabozantinib", "recent_arterial_thromboembolism", comorb(recent_arterial_thromboembolism=True), {}),
    ("cabozantinib", "recent_venous_thromboembolism", comorb(recent_venous_thromboembolism=True), {}),
    ("cabozantinib", "uncontrolled_hypertension", comorb(hypertension="uncontrolled"), comorb(hypertension="controlled")),
    ("cabozantinib", "proteinuria_present", comorb(proteinuria=True), {}),
    ("cabozantinib", "nephrotic_syndrome", comorb(nephrotic_syndrome=True), {}),
    ("cabozantinib", "surgery_within_3_weeks", comorb(planned_surgery_date=days(21)),
     comorb(planned_surgery_date=days(22))),
    ("cabozantinib", "surgery_later", comorb(planned_surgery_date=days(22)), comorb(planned_surgery_date=days(21))),
    ("cabozantinib", "dental_procedure_within_3_weeks", comorb(planned_dental_procedure_date=days(10)),
     comorb(planned_dental_procedure_date=days(-1))),
    ("cabozantinib", "dental_procedure_later", comorb(planned_dental_procedure_date=days(30)),
     comorb(planned_dental_procedure_date=days(10))),
    ("cabozantinib", "recent_major_surgery", comorb(recent_major_surgery_date=days(-13)),
     comorb(recent_major_surgery_date=days(-14))),
    ("cabozantinib", "wound_not_healed", comorb(wound_healed=False), comorb(wound_healed=True)),
    ("cabozantinib", "pregnancy", PREG, NOT_PREG),
    ("cabozantinib", "breastfeeding", BF, {}),
    ("cabozantinib", "age_under_12", {"age_years": 11}, {"age_years": 12}),
    ("cabozantinib", "grapefruit", meds("grapefruit juice"), meds("clarithromycin")),
    ("cabozantinib", "st_johns_wort", meds("St. John's Wort"), meds("rifampin")),
    ("cabozantinib", "renal_severe", comorb(creatinine_clearance_ml_min=29), comorb(creatinine_clearance_ml_min=30)),
    ("cabozantinib", "pediatric_growth", {"age_years": 15}, {"age_years": 18}),
    ("cabozantinib", "indication_previously_treated", {}, {"treatments": [{"agent": "everolimus"}]}),
    # ---------------------------------------------------------------- everolimus
    ("everolimus", "hepatic_mild", comorb(hepatic_impairment="mild"), comorb(hepatic_impairment="none")),
    ("everolimus", "hepatic_moderate", comorb(hepatic_impairment="moderate"), comorb(hepatic_impairment="mild")),
    ("everolimus", "hepatic_severe", comorb(hepatic_impairment="severe"), comorb(hepatic_impairment="moderate")),
    ("everolimus", "strong_cyp3a4_inhibitor", meds("ketoconazole"), meds("verapamil")),
    ("everolimus", "moderate_cyp3a4_inhibitor", meds("verapamil"), meds("ketoconazole")),
    ("everolimus", "strong_cyp3a4_inducer", meds("rifampin"), meds("efavirenz")),
    ("everolimus", "pgp_inhibitor_only", meds("amiodarone"), meds("verapamil")),
    ("everolimus", "moderate_cyp3a4_inducer", meds("efavirenz"), meds("rifampin")),
    ("everolimus", "grapefruit", meds("grapefruit"), {}),
    ("everolimus", "st_johns_wort", meds("hypericum"), {}),
    ("everolimus", "ace_inhibitor", meds("lisinopril"), meds("amlodipine")),
    ("everolimus", "interstitial_lung_disease", ILD, {}),
    ("everolimus", "diabetes", DIAB, {}),
    ("everolimus", "wound_not_healed", comorb(wound_healed=False), {}),
    ("everolimus", "prior_radiotherapy", {"treatments": [{"agent": "radiotherapy"}]},
     {"treatments": [{"agent": "octreotide_lar"}]}),
    ("everolimus", "carcinoid_syndrome", {"tumor": {"syndromes": ["carcinoid_syndrome"], "functional": True}},
     {"tumor": {"syndromes": ["insulinoma"], "functional": True}}),
    ("everolimus", "pregnancy", PREG, NOT_PREG),
    ("everolimus", "breastfeeding", BF, {}),
    ("everolimus", "age_under_18", {"age_years": 17}, {"age_years": 18}),
    # ---------------------------------------------------------------- sunitinib
    ("sunitinib", "strong_cyp3a4_inhibitor", meds("itraconazole"), meds("fluconazole")),
    ("sunitinib", "strong_cyp3a4_inducer", meds("carbamazepine"), meds("efavirenz")),
    ("sunitinib", "transaminases_elevated", comorb(alt_x_uln=4),
     {"comorbidities": {"alt_x_uln": 4}, "disease": {"liver_metastases": True}}),
    ("sunitinib", "hepatic_severe", comorb(hepatic_impairment="severe"), comorb(hepatic_impairment="moderate")),
    ("sunitinib", "heart_failure", comorb(heart_failure=True), {}),
    ("sunitinib", "qt_prolongation", QT, {}),
    ("sunitinib", "uncontrolled_hypertension", comorb(hypertension="uncontrolled"), comorb(hypertension="controlled")),
    ("sunitinib", "recent_hemorrhage", comorb(recent_hemorrhage=True), {}),
    ("sunitinib", "proteinuria", comorb(nephrotic_syndrome=True), {}),
    ("sunitinib", "diabetes_hypoglycemia", DIAB, {}),
    ("sunitinib", "insulinoma_hypoglycemia", INSULINOMA, GASTRINOMA),
    ("sunitinib", "surgery_within_3_weeks", comorb(planned_surgery_date=days(5)), comorb(planned_surgery_date=days(40))),
    ("sunitinib", "surgery_later", comorb(planned_surgery_date=days(22)), comorb(planned_surgery_date=days(21))),
    ("sunitinib", "recent_major_surgery", comorb(recent_major_surgery_date=days(-13)),
     comorb(recent_major_surgery_date=days(-14))),
    ("sunitinib", "dental_procedure_within_3_weeks", comorb(planned_dental_procedure_date=days(7)),
     comorb(planned_dental_procedure_date=days(60))),
    ("sunitinib", "wound_not_healed", comorb(wound_healed=False), {}),
    ("sunitinib", "st_johns_wort", meds("St Johns wort"), {}),
    ("sunitinib", "grapefruit", meds("grapefruit juice"), {}),
    ("sunitinib", "pregnancy", PREG, MALE_PREG_UNKNOWN),
    ("sunitinib", "breastfeeding", BF, {}),
    ("sunitinib", "age_under_18", {"age_years": 16}, {}),
    # ---------------------------------------------------------------- lutetium Lu 177 dotatate
    # count toxicities arising on treatment (after earlier LUTATHERA); before a first dose only a warning
    ("lu177_dotatate", "thrombocytopenia", {**comorb(platelets_per_ul=60000), **AFTER_PRRT},
     comorb(platelets_per_ul=60000)),
    ("lu177_dotatate", "anemia", {**comorb(hemoglobin_g_dl=7.9), **AFTER_PRRT}, comorb(hemoglobin_g_dl=7.9)),
    ("lu177_dotatate", "neutropenia", {**comorb(neutrophils_per_ul=900), **AFTER_PRRT},
     comorb(neutrophils_per_ul=900)),
    ("lu177_dotatate", "thrombocytopenia_before_first_dose", comorb(platelets_per_ul=60000),
     comorb(platelets_per_ul=75000)),
    ("lu177_dotatate", "anemia_before_first_dose", comorb(hemoglobin_g_dl=7.9), comorb(hemoglobin_g_dl=8)),
    ("lu177_dotatate", "neutropenia_before_first_dose", comorb(neutrophils_per_ul=900),
     comorb(neutrophils_per_ul=1000)),
    # renal toxicity arising on treatment (after earlier LUTATHERA), not baseline function before a first course
    ("lu177_dotatate", "renal_toxicity", {**comorb(creatinine_clearance_ml_min=35), **AFTER_PRRT},
     comorb(creatinine_clearance_ml_min=35)),
    ("lu177_dotatate", "hepatotoxicity", {**comorb(bilirubin_x_uln=3.5), **AFTER_PRRT}, comorb(bilirubin_x_uln=3.5)),
    ("lu177_dotatate", "hepatic_impairment_severe", comorb(bilirubin_x_uln=3.5),
     {**comorb(bilirubin_x_uln=3.5), **AFTER_PRRT}),
    ("lu177_dotatate", "renal_impairment_mild_moderate", comorb(creatinine_clearance_ml_min=35),
     {**comorb(creatinine_clearance_ml_min=35), **AFTER_PRRT}),
    ("lu177_dotatate", "renal_impairment_severe", comorb(creatinine_clearance_ml_min=25),
     comorb(creatinine_clearance_ml_min=30)),
    ("lu177_dotatate", "hormonal_crisis", {"tumor": {"functional": True, "syndromes": ["carcinoid_syndrome"]}}, {}),
    ("lu177_dotatate", "ssa_trial_before_prrt", WD_G3, {**WD_G3, **AFTER_SSA}),
    ("lu177_dotatate", "ongoing_long_acting_ssa", AFTER_SSA,
     {"treatments": [{"agent": "lanreotide", "start": "2023-01-10", "end": "2025-01-31"}]}),
    ("lu177_dotatate", "reduced_efficacy_fdg_avid", {"tumor": {**WD_G3["tumor"], "fdg_avid": True}},
     {"tumor": {"fdg_avid": True}}),  # footnote o is a WD G3 footnote: not for an FDG-avid G2 tumor
    ("lu177_dotatate", "pregnancy", PREG, NOT_PREG),
    ("lu177_dotatate", "breastfeeding", BF, {}),
    ("lu177_dotatate", "age_under_12", {"age_years": 11}, {"age_years": 12}),
    # ---------------------------------------------------------------- SSAs
    ("octreotide_lar", "hepatic_cirrhosis", comorb(hepatic_impairment="mild"), {}),
    ("octreotide_lar", "antidiabetic_drugs", meds("insulin glargine", "metformin"), meds("metoprolol")),
    ("octreotide_lar", "diabetes_glucose", DIAB, {}),
    ("octreotide_lar", "insulinoma_hypoglycemia", INSULINOMA, GASTRINOMA),
    ("octreotide_lar", "cardiac_conduction", QT, {}),
    ("octreotide_lar", "bradycardia_drugs", meds("metoprolol"), meds("amlodipine")),
    ("octreotide_lar", "cyclosporine", meds("Neoral"), {}),
    ("octreotide_lar", "bromocriptine", meds("bromocriptine"), {}),
    ("octreotide_lar", "pregnancy", PREG, NOT_PREG),
    ("octreotide_lar", "breastfeeding", BF, {}),
    ("octreotide_lar", "age_under_18", {"age_years": 10}, {}),
    ("octreotide", "hepatic_cirrhosis", comorb(hepatic_impairment="severe"), {}),
    ("octreotide", "diabetes_glucose", DIAB, {}),
    ("octreotide", "insulinoma_hypoglycemia", INSULINOMA, GASTRINOMA),
    ("octreotide", "cardiac_conduction", comorb(heart_failure=True), {}),
    ("octreotide", "bradycardia_drugs", meds("diltiazem"), {}),
    ("octreotide", "cyclosporine", meds("cyclosporine"), {}),
    ("octreotide", "bromocriptine", meds("Parlodel"), {}),
    ("octreotide", "antidiabetic_drugs", meds("Lantus"), {}),
    ("octreotide", "pregnancy", PREG, NOT_PREG),
    ("lanreotide", "renal_severe", comorb(creatinine_clearance_ml_min=20), comorb(creatinine_clearance_ml_min=45)),
    ("lanreotide", "hepatic_any", comorb(hepatic_impairment="moderate"), {}),
    ("lanreotide", "diabetes_glucose", DIAB, {}),
    ("lanreotide", "cardiac_conduction", QT, {}),
    ("lanreotide", "bradycardia_drugs", meds("Toprol XL"), {}),
    ("lanreotide", "cyclosporine", meds("ciclosporin"), {}),
    ("lanreotide", "bromocriptine", meds("bromocriptine"), {}),
    ("lanreotide", "antidiabetic_drugs", meds("metformin 500 mg"), meds("allopurinol")),
    ("lanreotide", "pregnancy", PREG, NOT_PREG),
    ("lanreotide", "breastfeeding", BF, {}),
    ("lanreotide", "age_under_18", {"age_years": 14}, {}),
    # ---------------------------------------------------------------- cytotoxics
    ("temozolomide", "counts_below_threshold", comorb(neutrophils_per_ul=1400), comorb(neutrophils_per_ul=1500)),
    ("temozolomide", "hepatic_severe", comorb(hepatic_impairment="severe"), {}),
    ("temozolomide", "renal_below_studied", comorb(creatinine_clearance_ml_min=35),
     comorb(creatinine_clearance_ml_min=36)),
    ("temozolomide", "renal_per_m2", comorb(creatinine_clearance_ml_min=36), comorb(creatinine_clearance_ml_min=35)),
    ("temozolomide", "pregnancy", PREG, NOT_PREG),
    ("temozolomide", "breastfeeding", BF, {}),
    ("temozolomide", "age_under_18", {"age_years": 17.9}, {"age_years": 18}),
    ("capecitabine", "age_under_18", {"age_years": 17.9}, {"age_years": 18}),
    ("capecitabine", "renal_severe", comorb(creatinine_clearance_ml_min=29), comorb(creatinine_clearance_ml_min=30)),
    ("capecitabine", "renal_moderate", comorb(creatinine_clearance_ml_min=40), comorb(creatinine_clearance_ml_min=51)),
    ("capecitabine", "vitamin_k_antagonist", meds("Coumadin"), {}),
    ("capecitabine", "phenytoin", meds("Dilantin"), {}),
    ("capecitabine", "hyperbilirubinemia", comorb(bilirubin_x_uln=3.5), comorb(bilirubin_x_uln=3)),
    ("capecitabine", "cardiac_history", comorb(heart_failure=True), {}),
    ("capecitabine", "age_80_plus", {"age_years": 80}, {"age_years": 79}),
    ("capecitabine", "pregnancy", PREG, NOT_PREG),
    ("capecitabine", "breastfeeding", BF, {}),
    ("fluorouracil", "vitamin_k_antagonist", meds("warfarin"), {}),
    ("fluorouracil", "cardiac_history", comorb(heart_failure=True), {}),
    ("fluorouracil", "pregnancy", PREG, NOT_PREG),
    ("fluorouracil", "breastfeeding", BF, {}),
    ("oxaliplatin", "renal_severe", comorb(creatinine_clearance_ml_min=25), comorb(creatinine_clearance_ml_min=30)),
    ("oxaliplatin", "counts_low", comorb(platelets_per_ul=70000), comorb(platelets_per_ul=75000)),
    ("oxaliplatin", "qt_prolongation", QT, {}),
    ("oxaliplatin", "interstitial_lung_disease", ILD, {}),
    ("oxaliplatin", "pregnancy", PREG, NOT_PREG),
    ("oxaliplatin", "breastfeeding", BF, {}),
    ("irinotecan", "strong_cyp3a4_inducer", meds("St. John's wort"), meds("efavirenz")),
    ("irinotecan", "strong_inhibitors", meds("Reyataz"), meds("fluconazole")),
    ("irinotecan", "counts_low", comorb(neutrophils_per_ul=1400), comorb(neutrophils_per_ul=1500)),
    ("irinotecan", "bilirubin_elevated", comorb(bilirubin_x_uln=1.5), comorb(bilirubin_x_uln=1)),
    ("irinotecan", "bilirubin_over_2_uln", comorb(bilirubin_x_uln=2.1), comorb(bilirubin_x_uln=2)),
    ("irinotecan", "interstitial_lung_disease", ILD, {}),
    ("irinotecan", "pregnancy", PREG, NOT_PREG),
    ("irinotecan", "breastfeeding", BF, {}),
    ("cisplatin", "renal_impairment", comorb(creatinine_clearance_ml_min=55), comorb(creatinine_clearance_ml_min=60)),
    ("cisplatin", "aminoglycoside", meds("gentamicin"), {}),
    ("cisplatin", "pregnancy", PREG, NOT_PREG),
    ("cisplatin", "breastfeeding", BF, {}),
    ("carboplatin", "renal_impairment", comorb(creatinine_clearance_ml_min=55), comorb(creatinine_clearance_ml_min=60)),
    ("carboplatin", "renal_below_15", comorb(creatinine_clearance_ml_min=14), comorb(creatinine_clearance_ml_min=15)),
    ("carboplatin", "counts_low", comorb(neutrophils_per_ul=1900), comorb(neutrophils_per_ul=2000)),
    ("carboplatin", "aminoglycoside", meds("tobramycin"), {}),
    ("carboplatin", "pregnancy", PREG, NOT_PREG),
    ("carboplatin", "breastfeeding", BF, {}),
    ("etoposide", "renal_moderate", comorb(creatinine_clearance_ml_min=40), comorb(creatinine_clearance_ml_min=51)),
    ("etoposide", "renal_severe", comorb(creatinine_clearance_ml_min=10), comorb(creatinine_clearance_ml_min=15)),
    ("etoposide", "counts_low", comorb(platelets_per_ul=40000), comorb(platelets_per_ul=50000)),
    ("etoposide", "pregnancy", PREG, NOT_PREG),
    ("etoposide", "breastfeeding", BF, {}),
    ("dacarbazine", "pregnancy", PREG, NOT_PREG),
    ("dacarbazine", "breastfeeding", BF, {}),
    ("leucovorin", "tmp_smx", meds("Bactrim DS"), {}),
    ("leucovorin", "antiepileptics", meds("primidone"), {}),
    # ---------------------------------------------------------------- immunotherapy, belzutifan
    ("pembrolizumab", "pediatric_weight_dose", {"age_years": 15, "weight_kg": 50}, {"age_years": 18}),
    ("pembrolizumab", "interstitial_lung_disease", ILD, {}),
    ("pembrolizumab", "diabetes", DIAB, {}),
    ("pembrolizumab", "pregnancy", PREG, NOT_PREG),
    ("pembrolizumab", "breastfeeding", BF, {}),
    ("nivolumab", "interstitial_lung_disease", ILD, {}),
    ("nivolumab", "pregnancy", PREG, NOT_PREG),
    ("nivolumab", "breastfeeding", BF, {}),
    ("ipilimumab", "interstitial_lung_disease", ILD, {}),
    ("ipilimumab", "pregnancy", PREG, NOT_PREG),
    ("ipilimumab", "breastfeeding", BF, {}),
    ("belzutifan", "anemia", comorb(hemoglobin_g_dl=7.5), comorb(hemoglobin_g_dl=8)),
    ("belzutifan", "hormonal_contraceptive", meds("Nexplanon"), meds("copper IUD")),
    ("belzutifan", "hepatic_moderate_severe", comorb(hepatic_impairment="moderate"),
     comorb(hepatic_impairment="mild")),
    ("belzutifan", "pregnancy", PREG, NOT_PREG),
    ("belzutifan", "breastfeeding", BF, {}),
    ("belzutifan", "age_under_18", {"age_years": 16}, {}),
    # label items for one sex only (session 36): shown for that sex, not for the other
    *[(a, "contraception", {}, MALE_PREG_UNKNOWN)
      for a in ("cabozantinib", "everolimus", "ipilimumab", "nivolumab", "pembrolizumab")],
    ("everolimus", "contraception_male", MALE_PREG_UNKNOWN, {}),
]  # fmt: skip


def fired(agent: str, rule: str, over: dict[str, Any], akb: AgentKnowledge) -> list[str]:
    s = screen_agent(agent, patient(over), akb)
    return [i.kind for i in s.safety if i.id == rule and i.kind in ("warning", "adjustment", "monitoring")]


@pytest.mark.parametrize(
    ("agent", "rule", "trigger", "clear"), CASES, ids=[f"{a}:{r}" for a, r, _, _ in CASES]
)
def test_rule_triggers_and_clears(agent: str, rule: str, trigger: dict[str, Any], clear: dict[str, Any],
                                  akb: AgentKnowledge) -> None:  # fmt: skip
    assert fired(agent, rule, trigger, akb), f"{agent}:{rule} did not fire for {trigger}"
    assert not fired(agent, rule, clear, akb), f"{agent}:{rule} fired for {clear}"


def test_every_conditional_rule_has_a_case(akb: AgentKnowledge) -> None:
    have = {(a, r) for a, r, _, _ in CASES}
    need = set()
    for agent, mono in akb.agents.items():
        need |= {(agent, x.id) for x in mono.adjustments}
        need |= {(agent, x.id) for x in mono.warnings}
        need |= {(agent, x.id) for x in mono.monitoring if x.when is not None}
    assert need - have == set(), "rules without a trigger/no-trigger case"
    assert have - need == set(), "cases for rules that do not exist"


def test_clear_patient_fires_no_warning_or_adjustment(akb: AgentKnowledge) -> None:
    for agent in akb.agents:
        # no procedure planned or recent: recorded as "none" (an absent date alone stays "not assessed")
        none = comorb(surgery_planned=False, dental_procedure_planned=False, recent_major_surgery=False)
        s = screen_agent(agent, patient(none), akb)
        # a check the record has no field for (unrecorded, e.g. DPYD before fluoropyrimidines) is said for
        # every patient: it is "not assessed", never cleared by facts that are recorded
        unrecorded = {u.id for u in akb.agents[agent].unrecorded}
        loud = [
            i.id
            for i in s.safety
            if (i.severity != "info" or i.kind == "adjustment") and i.id not in unrecorded
        ]
        assert loud == [], f"{agent}: {loud}"


def test_absent_procedure_dates_stay_not_assessed_naming_date_and_flag(akb: AgentKnowledge) -> None:
    s = screen_agent("cabozantinib", patient(), akb)
    got = {i.id: i.fields for i in s.safety if i.kind == "not_assessed" and i.severity == "warning"}
    assert got["surgery_within_3_weeks"] == [
        "comorbidities.planned_surgery_date",
        "comorbidities.surgery_planned",
    ]
    assert got["recent_major_surgery"] == [
        "comorbidities.recent_major_surgery_date",
        "comorbidities.recent_major_surgery",
    ]
