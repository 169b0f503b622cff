"""Lung/thymus table (NE-H): row criteria, every entry and condition."""

from __future__ import annotations

import pytest

from netcds.facts import build_facts
from netcds.logic.evaluate import evaluate as evaluate_condition
from netcds.patient import Patient
from tests.conftest import lung, opt, run

ENTRIES = {
    "lung.cabozantinib": ("cabozantinib", "preferred"),
    "lung.everolimus": ("everolimus", "preferred"),
    "lung.ssa": ("ssa", "preferred"),
    "lung.carboplatin_etoposide": ("carboplatin_etoposide", "useful_in_certain_circumstances"),
    "lung.cisplatin_etoposide": ("cisplatin_etoposide", "useful_in_certain_circumstances"),
    "lung.lu177_dotatate": ("lu177_dotatate", "useful_in_certain_circumstances"),
    "lung.temozolomide_pm_capecitabine": ("temozolomide_pm_capecitabine", "useful_in_certain_circumstances"),
    "lung.ssa_above_label": ("ssa_above_label", "useful_in_certain_circumstances"),
}


def test_every_entry_with_its_tier():
    ev = run(lung())
    assert ev.setting.table == "lung_thymus" and ev.setting.status == "applies"
    assert {o.entry_id: (o.regimen, o.tier) for o in ev.options} == ENTRIES


@pytest.mark.parametrize(
    ("tumor", "disease", "status"),
    [
        # typical carcinoid: needs significant burden, progression or symptoms
        (
            {"lung_subtype": "typical_carcinoid"},
            {"tumor_burden": "clinically_significant", "status": "stable", "tumor_symptoms": False},
            "applies",
        ),
        ({"lung_subtype": "typical_carcinoid"}, {"tumor_burden": "mild", "status": "progressive"}, "applies"),
        (
            {"lung_subtype": "typical_carcinoid", "hormonal_symptoms": True},
            {"tumor_burden": "mild", "status": "stable"},
            "applies",
        ),
        (
            {"lung_subtype": "typical_carcinoid", "hormonal_symptoms": False},
            {"tumor_burden": "mild", "status": "stable", "tumor_symptoms": False},
            "not_applicable",
        ),
        (
            {"lung_subtype": "typical_carcinoid", "hormonal_symptoms": False},
            {"tumor_burden": "mild", "status": "stable", "tumor_symptoms": None},
            "needs_data",
        ),
        # atypical carcinoid alone meets the row
        ({"lung_subtype": "atypical_carcinoid"}, {"tumor_burden": "mild", "status": "stable"}, "applies"),
        # only distant metastases are covered
        ({}, {"extent": "locoregional", "resectable": False}, "not_applicable"),
    ],
)
def test_row_criteria(tumor, disease, status):
    ev = run(lung(tumor=tumor, disease=disease))
    assert ev.setting.status == status
    if status == "not_applicable":
        assert ev.options == [] and ev.setting.reasons


def test_thymus_uses_the_same_table():
    assert run(lung(tumor={"primary_site": "thymus"})).setting.table == "lung_thymus"


def test_grade_stands_for_subtype_low_typical_intermediate_atypical():
    ev = run(
        lung(
            tumor={"lung_subtype": None, "grade": "G1"},
            disease={"status": "stable", "tumor_burden": "mild", "tumor_symptoms": False},
        )
    )
    assert ev.setting.status == "not_applicable"  # typical, mild, stable, asymptomatic
    assert run(lung(tumor={"lung_subtype": None, "grade": "G2"})).setting.status == "applies"


@pytest.mark.parametrize(
    ("history", "category"),
    [
        ([{"agent": "everolimus", "start": "2023-01-01", "progressed": True}], "1"),
        ([{"agent": "lu177_dotatate", "start": "2023-01-01"}], "2A"),  # only everolimus counts in lung/thymus
        ([{"agent": "sunitinib", "start": "2023-01-01"}], "2A"),
    ],
)
def test_cabozantinib_category_1_only_after_everolimus(history, category):
    assert opt(run(lung(treatments=history)), "lung.cabozantinib").category == category


@pytest.mark.parametrize(
    ("tumor", "category"),
    [
        ({"primary_site": "lung", "functional": False}, "1"),
        ({"primary_site": "lung", "functional": True}, "2A"),
        ({"primary_site": "thymus", "functional": False}, "2A"),  # category 1 is for lung NETs
    ],
)
def test_everolimus_category_1_for_nonfunctional_lung(tumor, category):
    o = opt(run(lung(tumor=tumor)), "lung.everolimus")
    assert o.status == "eligible" and o.category == category


@pytest.mark.parametrize(
    ("tumor", "status"),
    [
        ({"sstr_status": "positive", "hormonal_symptoms": False}, "eligible"),
        ({"sstr_status": "negative", "hormonal_symptoms": True}, "eligible"),
        ({"sstr_status": "negative", "hormonal_symptoms": False}, "not_eligible"),
        ({"sstr_status": None, "hormonal_symptoms": False}, "needs_data"),
    ],
)
def test_ssa_if_sstr_positive_and_or_hormonal_symptoms(tumor, status):
    assert (
        opt(run(lung(tumor=tumor, treatments=[])), "lung.ssa").status == status
    )  # no SSA given: no footnote a


@pytest.mark.parametrize(
    ("significant", "functional", "treatments", "status", "missing"),
    [
        (True, False, None, "needs_data", ["treatments"]),
        (True, False, "ssa", "not_eligible", []),  # footnote a: stop the SSA of a non-functional tumor
        (True, True, "ssa", "eligible", []),
        (False, False, "ssa", "eligible", []),
        (None, False, "ssa", "needs_data", ["disease.progression_clinically_significant"]),
    ],
)
def test_ssa_status_follows_footnote_a(significant, functional, treatments, status, missing):
    history = [{"agent": "lanreotide", "start": "2023-01-01", "end": "2024-01-01", "progressed": True}]
    p = lung(
        disease={"progression_clinically_significant": significant},
        tumor={"functional": functional, "sstr_status": "positive"},
        treatments=history if treatments else None,
    )
    o = opt(run(p), "lung.ssa")
    assert (o.status, o.missing) == (status, missing) and "a" in o.footnotes


@pytest.mark.parametrize(
    "entry", ["lung.carboplatin_etoposide", "lung.cisplatin_etoposide", "lung.temozolomide_pm_capecitabine"]
)
@pytest.mark.parametrize(
    ("tumor", "status", "missing"),
    [
        ({"lung_subtype": "atypical_carcinoid", "proliferation_high_end": True}, "eligible", []),
        ({"lung_subtype": "atypical_carcinoid", "proliferation_high_end": False}, "not_eligible", []),
        (
            {"lung_subtype": "atypical_carcinoid", "proliferation_high_end": None},
            "needs_data",
            ["tumor.proliferation_high_end"],
        ),
        ({"lung_subtype": "typical_carcinoid", "proliferation_high_end": True}, "not_eligible", []),
    ],
)
def test_chemotherapy_footnote_i_atypical_with_high_end_proliferation(entry, tumor, status, missing):
    o = opt(run(lung(tumor=tumor)), entry)
    assert (o.status, o.missing, o.footnotes) == (status, missing, ["i"])


@pytest.mark.parametrize(
    ("over", "status"),
    [
        ({}, "eligible"),
        ({"tumor": {"sstr_status": "negative"}}, "not_eligible"),
        ({"treatments": []}, "not_eligible"),
    ],
)
def test_lu177_if_sstr_positive_and_progression_on_ssa(over, status):
    o = opt(run(lung(**over)), "lung.lu177_dotatate")
    assert o.status == status and o.category == "2A"


@pytest.mark.parametrize(
    ("tumor", "treatments", "status"),
    [
        ({"sstr_status": "positive"}, None, "eligible"),
        ({"sstr_status": "negative", "hormonal_symptoms": True}, None, "eligible"),
        ({"sstr_status": "negative", "hormonal_symptoms": False}, None, "not_eligible"),
        ({"sstr_status": "positive"}, [], "not_eligible"),
    ],
)
def test_above_label_ssa_category_2b(tumor, treatments, status):
    over = {"tumor": tumor} if treatments is None else {"tumor": tumor, "treatments": treatments}
    minor = {"disease": {"progression_clinically_significant": False}}  # footnote a does not stop the SSA
    o = opt(run(lung(**minor, **over)), "lung.ssa_above_label")
    assert o.status == status and o.category == "2B"


# Ki-67 does not grade a lung/thymus carcinoid (WHO thoracic criteria: mitoses and necrosis); it is
# supportive only, so one that disagrees with the morphology is flagged, never followed
_UNGRADED = {"lung_subtype": None, "grade": None, "differentiation": None, "mitoses_per_2mm2": None}


@pytest.mark.parametrize("site", ["lung", "thymus"])
@pytest.mark.parametrize(
    "morphology",
    [
        {"mitoses_per_2mm2": 1, "necrosis": False},  # typical carcinoid by the counts
        {"lung_subtype": "typical_carcinoid"},
        {"grade": "G1", "mitoses_per_2mm2": 1, "necrosis": False},
    ],
)
def test_high_ki67_does_not_override_typical_carcinoid_morphology(site, morphology):
    record = lung(tumor={**_UNGRADED, "primary_site": site, "ki67_percent": 25, **morphology})
    f = build_facts(Patient.model_validate(record))
    got = {n: f.get(n) for n in ("derived.grade", "derived.lung_subtype", "derived.differentiation")}
    assert got == {
        "derived.grade": "G1",
        "derived.lung_subtype": "typical_carcinoid",
        "derived.differentiation": "well",
    }
    why = f.why("derived.grade")
    assert "check the record" in why and "Ki-67 25% is high for a carcinoid" in why, why
    assert "is G3" not in why  # not graded by the digestive Ki-67 cut-points
    ev = run(record)
    assert (ev.setting.table, ev.setting.status) == ("lung_thymus", "applies")
    shown = {d.name: d.why for d in ev.derived_facts}
    assert "Ki-67 25% is high for a carcinoid" in shown["derived.grade"]


@pytest.mark.parametrize("site", ["lung", "thymus"])
@pytest.mark.parametrize("ki67", [2, 10, 25])
@pytest.mark.parametrize("differentiation", [None, "well"])
def test_ki67_alone_does_not_grade_a_thoracic_carcinoid(kb, site, ki67, differentiation):
    record = lung(
        tumor={**_UNGRADED, "primary_site": site, "ki67_percent": ki67, "differentiation": differentiation}
    )
    f = build_facts(Patient.model_validate(record))
    assert f.get("derived.grade") is None  # unknown, never assumed from Ki-67
    assert f.missing_for("derived.grade") == ("tumor.grade", "tumor.mitoses_per_2mm2", "tumor.lung_subtype")
    assert f"Ki-67 {ki67}% does not grade a lung/thymus carcinoid" in f.why("derived.grade")
    assert f.get("derived.differentiation") == differentiation  # not 'well' through a Ki-67 grade
    # the lung/thymus table waits for the grading fields: needs data, not 'not applicable'
    table = evaluate_condition(kb.table("lung_thymus").applies_when, f)
    assert table.value is None
    assert {"tumor.grade", "tumor.mitoses_per_2mm2", "tumor.lung_subtype"} <= set(table.missing)
    assert "tumor.ki67_percent" not in table.missing
    ev = run(record)
    assert ev.setting.status == "needs_data" and "Lung/thymus" in ev.setting.reasons[0]
    assert "tumor.ki67_percent" not in ev.setting.missing
