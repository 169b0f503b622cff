"""Review fixes about Conditions and scope: secondary cancer, verification status, carcinoid heart
disease, the G1 fallback, second cancers, foreign subjects, nodal metastases, VHL, goblet cell, remission."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from netcds.fhir import FhirMappingError, MappingReport, bundle_to_patient
from netcds.patient import Patient
from tests.fhir.conftest import wrap

AS_OF = date(2025, 6, 1)
SCT, LNC = "http://snomed.info/sct", "http://loinc.org"
ICD, ICDO = "http://hl7.org/fhir/sid/icd-10-cm", "http://terminology.hl7.org/CodeSystem/icd-o-3"
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
MC = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1960-01-15"}


def net(
    morph: str = "8249/3", display: str = "Neuroendocrine tumor, grade 2", **extra: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Condition", "id": "net", "meta": {"profile": [MC + "mcode-primary-cancer-condition"]},
        "code": {"coding": [{"system": ICD, "code": "C7A.012"}]}, "subject": {"reference": "Patient/p1"},
        "bodySite": [{"coding": [{"system": SCT, "code": "34516001"}]}],
        "extension": [{"url": MC + "mcode-histology-morphology-behavior",
                       "valueCodeableConcept": {"coding": [{"system": ICDO, "code": morph, "display": display}]}}],
        **extra,
    }  # fmt: skip


def cond(i: str, code: dict[str, Any], ver: str = "confirmed", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": i, "code": code, "subject": {"reference": "Patient/p1"},
            "verificationStatus": {"coding": [{"system": VER, "code": ver}]}, **extra}  # fmt: skip


def coded(system: str, code: str, display: str = "", text: str | None = None) -> dict[str, Any]:
    cc: dict[str, Any] = {
        "coding": [{"system": system, "code": code, **({"display": display} if display else {})}]
    }
    return cc | ({"text": text} if text else {})


def tnm(i: str, code: str, value: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": i, "status": "final", "subject": {"reference": "Patient/p1"},
            "code": coded(SCT, code), "valueCodeableConcept": {"text": value}, **extra}  # fmt: skip


LOCALIZED = [tnm("t", "399504009", "cT2"), tnm("n", "399534004", "cN0"), tnm("m", "399387003", "cM0")]


def mapped(*resources: dict[str, Any]) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(wrap(PATIENT, *resources), as_of=AS_OF)


def reason(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


# ---- 1. "secondary" alone is not metastatic cancer -------------------------------------------------
@pytest.mark.parametrize(
    "code",
    [
        coded(ICD, "I15.9", "Secondary hypertension, unspecified"),
        coded(SCT, "8801005", "Secondary diabetes mellitus"),
        {"text": "Secondary lymphedema of left leg"},
    ],
)
def test_secondary_non_cancer_condition_is_not_a_metastasis(code: dict[str, Any]) -> None:
    p, report = mapped(net(), cond("x", code), *LOCALIZED)
    assert p.disease.extent == "localized"
    assert not [
        m for m in report.mapped if m.from_.startswith("Condition/x") and m.field.startswith("disease")
    ]


def test_secondary_hypertension_stays_a_comorbidity() -> None:
    _, report = mapped(net(), cond("x", coded(ICD, "I15.9", "Secondary hypertension, unspecified")))
    assert "hypertension present" in reason(report, "Condition/x")


@pytest.mark.parametrize(
    ("code", "liver"),
    [
        (coded(SCT, "94381002", "Secondary malignant neoplasm of liver"), True),
        (coded(ICD, "C7B.02", "Secondary carcinoid tumors of liver"), True),
        ({"text": "Metastatic carcinoid to bone"}, None),
    ],
)
def test_metastasis_by_code_or_unambiguous_phrase(code: dict[str, Any], liver: bool | None) -> None:
    p, _ = mapped(net(), cond("x", code))
    assert p.disease.extent == "distant_metastatic"
    assert p.disease.liver_metastases is liver


def test_negated_metastasis_phrase_is_not_a_metastasis() -> None:
    p, _ = mapped(net(), cond("x", {"text": "No metastatic disease"}))
    assert p.disease.extent is None


# ---- 5. data about a second cancer ------------------------------------------------------------------
BREAST = {
    "resourceType": "Condition", "id": "brca", "meta": {"profile": [MC + "mcode-primary-cancer-condition"]},
    "code": coded(SCT, "353431000119107", "Primary malignant neoplasm of female left breast"),
    "subject": {"reference": "Patient/p1"},
    "extension": [{"url": MC + "mcode-histology-morphology-behavior",
                   "valueCodeableConcept": coded(SCT, "82711006", "Infiltrating duct carcinoma")}],
}  # fmt: skip


def status(i: str, answer: str, focus: str | None, when: str) -> dict[str, Any]:
    o = {
        "resourceType": "Observation",
        "id": i,
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": coded(LNC, "97509-4"),
        "effectiveDateTime": when,
        "valueCodeableConcept": coded(SCT, answer),
    }
    return o | ({"focus": [{"reference": focus}]} if focus else {})  # fmt: skip


def capecitabine(reason_ref: str | None) -> dict[str, Any]:
    r = {
        "resourceType": "MedicationRequest",
        "id": "cape",
        "status": "completed",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": coded(RX, "194000", "capecitabine"),
        "dosageInstruction": [
            {"timing": {"repeat": {"boundsPeriod": {"start": "2019-01-10", "end": "2019-07-01"}}}}
        ],
    }
    return r | ({"reasonReference": [{"reference": reason_ref}]} if reason_ref else {})  # fmt: skip


def test_focus_and_reason_reference_on_another_cancer_are_not_used_for_the_net() -> None:
    p, report = mapped(
        net(), BREAST,
        status("ds-net", "359746009", "Condition/net", "2025-03-01"),
        status("ds-brca", "271299001", "Condition/brca", "2025-04-01"),
        tnm("brca-n1", "399534004", "cN1", focus=[{"reference": "Condition/brca"}]),
        tnm("brca-m0", "399387003", "cM0", focus=[{"reference": "Condition/brca"}]),
        capecitabine("Condition/brca"),
    )  # fmt: skip
    assert p.disease.status == "stable" and p.disease.extent is None and p.treatments is None
    for ref in ("Observation/ds-brca", "Observation/brca-n1", "MedicationRequest/cape"):
        assert "another cancer" in reason(report, ref) and "Condition/brca" in reason(report, ref)


def test_metastasis_of_another_primary_is_not_the_nets() -> None:
    mets = cond("brain", coded(SCT, "94225005", "Secondary malignant neoplasm of brain"),
                extension=[{"url": "http://hl7.org/fhir/StructureDefinition/condition-related",
                            "valueReference": {"reference": "Condition/brca"}}])  # fmt: skip
    p, report = mapped(net(), BREAST, mets)
    assert p.disease.extent is None
    assert "another cancer" in reason(report, "Condition/brain")


def test_unstated_cancer_with_two_primaries_is_used_with_a_caveat() -> None:
    p, report = mapped(net(), BREAST, capecitabine(None))
    assert p.treatments is not None and p.treatments[0].agent == "capecitabine"
    [item] = [m for m in report.mapped if m.field == "treatments[0]"]
    assert "does not say which cancer" in (item.note or "")


# ---- 6. unconfirmed / provisional / differential ----------------------------------------------------
@pytest.mark.parametrize("ver", ["unconfirmed", "provisional", "differential"])
def test_unconfirmed_conditions_are_not_used_as_true(ver: str) -> None:
    liver = cond("liv", coded(ICD, "C7B.02", "Secondary carcinoid tumors of liver"), ver)
    syndrome = cond("cs", coded(SCT, "35868009", "Carcinoid syndrome"), ver)
    diabetes = cond("dm", coded(SCT, "44054006", "Diabetes mellitus type 2"), ver)
    p, report = mapped(net(), liver, syndrome, diabetes)
    assert p.disease.extent is None and p.disease.liver_metastases is None
    assert p.tumor.functional is None and p.tumor.syndromes is None
    assert p.comorbidities.diabetes is None
    for ref in ("Condition/liv", "Condition/cs", "Condition/dm"):
        assert ver in reason(report, ref)


def test_unconfirmed_primary_is_not_evaluated() -> None:
    with pytest.raises(FhirMappingError) as err:
        mapped(net(verificationStatus={"coding": [{"system": VER, "code": "provisional"}]}))
    assert err.value.field == "tumor.primary_site"
    assert err.value.report is not None
    assert "provisional" in reason(err.value.report, "Condition/net")


# ---- 7. ICD-O-3 8240/3 grade fallback -----------------------------------------------------------------
@pytest.mark.parametrize(
    "ki67",
    [
        {"valueQuantity": {"value": 20, "unit": "%", "code": "%", "comparator": ">"}},
        {"valueString": "Ki-67 15%"},
        {"valueQuantity": {"value": 0.15, "unit": "1", "code": "1"}},
    ],
)
def test_unusable_ki67_blocks_the_g1_fallback_and_the_report_says_so(ki67: dict[str, Any]) -> None:
    obs = {
        "resourceType": "Observation",
        "id": "ki",
        "status": "final",
        "code": coded(LNC, "29593-1"),
        **ki67,
    }
    p, report = mapped(net("8240/3", "Neuroendocrine tumor, grade 1"), obs)
    assert p.tumor.grade is None
    assert "could not be used" in reason(report, "Condition/net")
    assert not any("no grade, Ki-67 or mitotic count" in (m.note or "") for m in report.mapped)


def test_8240_nos_gives_no_grade() -> None:
    p, report = mapped(net("8240/3", "Neuroendocrine tumor, NOS"))
    assert p.tumor.grade is None and "not taken from it" in reason(report, "Condition/net")


def test_lung_carcinoid_nos_is_not_typical() -> None:
    lung = net("8240/3", "Carcinoid tumor, NOS") | {
        "bodySite": [{"coding": [{"system": SCT, "code": "39607008"}]}]
    }
    p, _ = mapped(lung)
    assert p.tumor.primary_site == "lung" and p.tumor.lung_subtype is None


# ---- 8. carcinoid heart disease ------------------------------------------------------------------------
@pytest.mark.parametrize("profile", [True, False])
def test_carcinoid_heart_disease_is_a_comorbidity_not_a_primary(profile: bool) -> None:
    primary = net()
    if not profile:
        primary.pop("meta")
    chd = cond(
        "chd", coded(ICD, "I34.8", "Other nonrheumatic mitral valve disorders", "Carcinoid heart disease")
    )
    p, _ = mapped(primary, chd)
    assert p.tumor.primary_site == "ileum"
    assert p.comorbidities.other == ["Carcinoid heart disease"]


def test_tumour_named_in_words_only_is_reported_not_a_primary() -> None:
    words = cond("w", {"text": "Neuroendocrine tumour of the ileum"})
    _, report = mapped(net(), words)
    assert "words only" in reason(report, "Condition/w")


# ---- 10. subject outside the bundle ---------------------------------------------------------------------
def test_subject_that_does_not_resolve_to_the_patient_is_excluded() -> None:
    ki = {"resourceType": "Observation", "id": "urn-ki", "status": "final", "code": coded(LNC, "29593-1"),
          "subject": {"reference": "urn:uuid:9b1c7a52-0000-4000-8000-000000000002"},
          "valueQuantity": {"value": 40, "unit": "%", "code": "%"}}  # fmt: skip
    p, report = mapped(net(), ki)
    assert p.tumor.ki67_percent is None
    assert "another patient" in reason(report, "Observation/urn-ki")


def test_subject_by_identifier_or_full_url_is_the_patient() -> None:
    patient = PATIENT | {"identifier": [{"system": "urn:mrn", "value": "42"}]}
    by_id = {"resourceType": "Observation", "id": "a", "status": "final", "code": coded(LNC, "29593-1"),
             "subject": {"identifier": {"system": "urn:mrn", "value": "42"}},
             "valueQuantity": {"value": 7, "unit": "%", "code": "%"}}  # fmt: skip
    bundle = wrap(patient, net(), by_id)
    bundle["entry"][0]["fullUrl"] = "urn:uuid:9b1c7a52-0000-4000-8000-000000000001"
    p, _ = bundle_to_patient(bundle, as_of=AS_OF)
    assert p.tumor.ki67_percent == 7
    other = copy.deepcopy(by_id) | {"subject": {"identifier": {"system": "urn:mrn", "value": "43"}}}
    p, _ = bundle_to_patient(wrap(patient, net(), other), as_of=AS_OF)
    assert p.tumor.ki67_percent is None


# ---- 11. nodal metastases ---------------------------------------------------------------------------------
def test_nodal_metastasis_in_snomed_or_words_is_not_distant() -> None:
    ln = cond("ln", coded(SCT, "128462008", "Metastatic malignant neoplasm", "Metastasis to mesenteric lymph nodes"),
              meta={"profile": [MC + "mcode-secondary-cancer-condition"]},
              bodySite=[{"text": "Mesenteric lymph node"}])  # fmt: skip
    p, report = mapped(net(), ln)
    assert p.disease.extent is None
    assert "regional or distant is not stated" in reason(report, "Condition/ln")


def test_distant_lymph_node_carcinoid_code_is_distant() -> None:
    p, _ = mapped(
        net(), cond("ln", coded(ICD, "C7B.01", "Secondary carcinoid tumors of distant lymph nodes"))
    )
    assert p.disease.extent == "distant_metastatic"


# ---- 13. values missed ---------------------------------------------------------------------------------------
def test_full_remission_is_no_evidence_of_disease() -> None:
    p, _ = mapped(net(), status("ds", "550991000124107", None, "2024-01-10"))
    assert p.disease.status == "no_evidence_of_disease"


def test_vhl_disease_condition_sets_germline_vhl() -> None:
    vhl = cond("vhl", coded(SCT, "46659004", "Von Hippel-Lindau syndrome"))
    p, _ = mapped(net(), vhl)
    assert p.biomarkers.germline_vhl is True
    p, _ = mapped(net(), cond("vhl", coded(ICD, "Q85.83", "Von Hippel-Lindau syndrome"), "unconfirmed"))
    assert p.biomarkers.germline_vhl is None


def test_goblet_cell_adenocarcinoma_is_refused_with_the_reason() -> None:
    goblet = net("8243/3", "Goblet cell adenocarcinoma") | {
        "bodySite": [{"coding": [{"system": SCT, "code": "66754008"}]}]
    }
    with pytest.raises(FhirMappingError) as err:
        mapped(goblet)
    assert "not a neuroendocrine" in err.value.message and "goblet cell adenocarcinoma" in err.value.message


# ---- MiNEN: a mixed tumour is neuroendocrine in part, but its differentiation is not read from it ----------
def _text_histology(text: str) -> dict[str, Any]:
    resource = net()
    resource["extension"] = [
        {"url": MC + "mcode-histology-morphology-behavior", "valueCodeableConcept": {"text": text}}
    ]
    return resource


@pytest.mark.parametrize(
    "resource",
    [
        net("8244/3", "Mixed adenoneuroendocrine carcinoma"),
        net("8244/3", "Mixed neuroendocrine non-neuroendocrine neoplasm (MiNEN)"),
        net("8154/3", "Mixed pancreatic endocrine and exocrine tumor, malignant"),
        _text_histology(
            "Mixed adenoneuroendocrine carcinoma"
        ),  # had been read as a (poorly differentiated) NEC
        _text_histology("MiNEN of the colon"),
    ],
    ids=["8244-manec", "8244-minen", "8154", "text-manec", "text-minen"],
)
def test_a_mixed_neuroendocrine_neoplasm_is_reported_and_leaves_differentiation_open(
    resource: dict[str, Any],
) -> None:
    p, report = mapped(resource)
    assert p.tumor.differentiation is None and p.tumor.grade is None and p.tumor.lung_subtype is None
    assert "tumor.differentiation" not in report.fields()
    why = reason(report, "Condition/net")
    assert "mixed neuroendocrine-non-neuroendocrine neoplasm (MiNEN)" in why
    assert "do not address mixed tumours" in why and "record the neuroendocrine component's" in why


def test_a_pure_neuroendocrine_carcinoma_in_words_is_still_poorly_differentiated() -> None:
    p, report = mapped(_text_histology("Poorly differentiated neuroendocrine carcinoma"))
    assert p.tumor.differentiation == "poor" and "MiNEN" not in reason(report, "Condition/net")
