"""Free text that names a fact ambiguously, negated, hedged, as a range or in another context leaves the fact
unknown and is reported, never read as a definite value: histologic grade words ("G2-G3", "not G3"),
differentiation words ("not well differentiated"), TNM category words ("No M1") and drug names beside a
device or a negation ("everolimus-eluting coronary stent", "not on everolimus"). Clear words still map, and
a SNOMED CT AJCC cM0/cM1 value code without a display is read. Inputs are built from the ileal NET fixture."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from netcds.fhir import MappingReport, bundle_to_patient
from netcds.fhir.drug_names import agents_in, generic_name
from netcds.patient import Patient
from tests.fhir.conftest import load

AS_OF = date(2025, 6, 1)
SCT = "http://snomed.info/sct"
PATIENT = {"reference": "Patient/net-ileum-1"}


# ---- helpers ----------------------------------------------------------------------------------------------
def ileal() -> dict[str, Any]:
    return load("ileal_net_ssa_progression.json")


def add(bundle: dict[str, Any], resource: dict[str, Any]) -> None:
    url = f"http://example.org/fhir/{resource['resourceType']}/{resource['id']}"
    bundle["entry"].append({"fullUrl": url, "resource": resource})


def drop(bundle: dict[str, Any], rid: str) -> None:
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"].get("id") != rid]


def res(bundle: dict[str, Any], rid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == rid)
    return found


def mapped(bundle: dict[str, Any]) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(bundle, as_of=AS_OF)


def reasons(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


def grade_obs(value: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": "g38", "status": "final",
            "code": {"coding": [{"system": SCT, "code": "371469007", "display": "Histologic grade"}]},
            "subject": PATIENT, "effectiveDateTime": "2023-11-28",
            "focus": [{"reference": "Condition/ileum-primary"}], "valueCodeableConcept": value}  # fmt: skip


def with_grade(text: str) -> tuple[Patient, MappingReport]:
    b = ileal()
    add(b, grade_obs({"text": text}))
    return mapped(b)


def with_histology_words(text: str) -> tuple[Patient, MappingReport]:
    b = ileal()
    ext = res(b, "ileum-primary")["extension"][0]
    ext["valueCodeableConcept"] = {"text": text}
    return mapped(b)


def cm_obs(value: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": "cm38", "status": "final",
            "code": {"coding": [{"system": SCT, "code": "399387003", "display": "cM category"}]},
            "subject": PATIENT, "effectiveDateTime": "2025-03-01",
            "focus": [{"reference": "Condition/ileum-primary"}], "valueCodeableConcept": value}  # fmt: skip


def with_cm(value: dict[str, Any]) -> tuple[Patient, MappingReport]:
    """The ileal bundle without its liver metastasis (so only the cM category can set the extent)."""
    b = ileal()
    drop(b, "ileum-liver-mets")
    add(b, cm_obs(value))
    return mapped(b)


def with_statement(text: str) -> tuple[Patient, MappingReport]:
    b = ileal()
    add(b, {"resourceType": "MedicationStatement", "id": "ms38", "status": "active",
            "medicationCodeableConcept": {"text": text}, "subject": PATIENT,
            "effectivePeriod": {"start": "2024-06-01"}})  # fmt: skip
    return mapped(b)


# ---- 1. histologic grade words ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["G2-G3", "not G3", "Grade 1-2", "G1/G2", "grade 2 or 3", "no G3", "negative for G3", "possible G3",
     "probable G2", "suspected G3", "?G3", "r/o G3", "rule out G3", "G3 ruled out", "G2, not G3"],
)  # fmt: skip
def test_grade_words_that_are_not_one_clear_grade_leave_it_unknown(text: str) -> None:
    p, report = with_grade(text)
    assert p.tumor.grade is None
    assert "tumor.grade" not in report.fields()
    assert "histologic grade" in reasons(report, "Observation/g38")


@pytest.mark.parametrize(
    ("text", "grade"),
    [("G2", "G2"), ("Grade 2", "G2"), ("grade II", "G2"), ("WHO grade 3", "G3"), ("NET G1", "G1"),
     ("grade: 1", "G1")],
)  # fmt: skip
def test_one_clear_grade_in_words_still_maps(text: str, grade: str) -> None:
    p, report = with_grade(text)
    assert p.tumor.grade == grade
    assert report.fields()["tumor.grade"] == grade


def test_a_coded_grade_still_decides() -> None:
    b = ileal()
    add(b, grade_obs({"coding": [{"system": SCT, "code": "1663004"}], "text": "not G3"}))
    p, _ = mapped(b)
    assert p.tumor.grade == "G2"


# ---- 2. differentiation words ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["Neuroendocrine neoplasm, not well differentiated", "Neuroendocrine tumor, not well differentiated",
     "neuroendocrine neoplasm, possibly well differentiated", "neuroendocrine neoplasm, not poorly differentiated",
     "neuroendocrine neoplasm, well to poorly differentiated"],
)  # fmt: skip
def test_negated_or_hedged_differentiation_words_leave_it_unknown(text: str) -> None:
    p, report = with_histology_words(text)
    assert p.tumor.differentiation is None
    assert "tumor.differentiation" not in report.fields()
    assert "differentiation not taken" in reasons(report, "Condition/ileum-primary")


@pytest.mark.parametrize(
    ("text", "diff"),
    [("Well-differentiated neuroendocrine tumor", "well"), ("well differentiated neuroendocrine neoplasm", "well"),
     ("Neuroendocrine tumour", "well"), ("Poorly differentiated neuroendocrine carcinoma", "poor"),
     ("Small cell neuroendocrine carcinoma", "poor")],
)  # fmt: skip
def test_clear_differentiation_words_still_map(text: str, diff: str) -> None:
    p, _ = with_histology_words(text)
    assert p.tumor.differentiation == diff


# ---- 3. TNM category words and codes ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "text", ["No M1", "M1 not present", "not M1", "?M1", "possible cM1", "cM0/1", "M0 or M1", "r/o M1"]
)
def test_negated_hedged_or_ranged_m_words_set_no_extent(text: str) -> None:
    p, report = with_cm({"text": text})
    assert p.disease.extent is None
    assert "disease.extent" not in report.fields()
    assert "TNM category value not readable" in reasons(report, "Observation/cm38")


@pytest.mark.parametrize("value", [{"text": "cM1"}, {"text": "M1b (liver)"},
                                   {"coding": [{"system": SCT, "code": "1229903009"}]}])  # fmt: skip
def test_m1_in_words_or_as_a_code_without_display_is_distant(value: dict[str, Any]) -> None:
    p, report = with_cm(value)
    assert p.disease.extent == "distant_metastatic"
    assert report.fields()["disease.extent"] == "distant_metastatic"


def test_m0_code_without_display_is_read() -> None:
    _, report = with_cm({"coding": [{"system": SCT, "code": "1229901006"}]})
    why = reasons(report, "Observation/cm38")
    assert "not readable" not in why
    assert "TNM M0" in why  # read, and M0 alone does not settle the extent


def test_the_value_code_decides_over_its_words() -> None:
    p, _ = with_cm({"coding": [{"system": SCT, "code": "1229903009"}], "text": "No M1"})
    assert p.disease.extent == "distant_metastatic"


# ---- 4. drug names beside a device or a negation ----------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["everolimus-eluting coronary stent", "Everolimus eluting stent (cardiology)", "not on everolimus",
     "no everolimus", "declined everolimus", "?everolimus", "possible everolimus"],
)  # fmt: skip
def test_device_or_negated_drug_words_make_no_treatment_line(text: str) -> None:
    assert agents_in({"text": text}) == []
    assert generic_name({"text": text}) is None
    p, report = with_statement(text)
    assert not any(t.agent == "everolimus" for t in p.treatments or [])
    assert not any("everolimus" in m for m in p.medications or [])
    assert reasons(report, "MedicationStatement/ms38")
    assert not [m for m in report.mapped if m.from_.startswith("MedicationStatement/ms38")]


@pytest.mark.parametrize("text", ["everolimus 10 MG Oral Tablet", "Everolimus 10 mg daily; no grapefruit"])
def test_a_plain_drug_name_still_maps(text: str) -> None:
    assert [a for a, _ in agents_in({"text": text})] == ["everolimus"]
    p, _ = with_statement(text)
    assert any(t.agent == "everolimus" for t in p.treatments or [])


def test_other_drug_names_are_kept() -> None:
    assert (
        generic_name({"text": "lidocaine without epinephrine 1% injection"})
        == "lidocaine without epinephrine"
    )
    assert generic_name({"text": "warfarin 5 MG Oral Tablet"}) == "warfarin"
