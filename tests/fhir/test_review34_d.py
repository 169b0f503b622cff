"""Review 34, fixer D: free-text SSTR results read conservatively (hedged or "X: none" never positive),
a histology Observation that disagrees with the Condition's morphology on differentiation, a male
administrative gender with a pregnancy status of pregnant, and the error when the only primary was
entered in error or refuted."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.fhir import MappingReport, bundle_to_patient
from netcds.fhir.biomarkers import MSI_WORDS, NEGATIVE_WORDS, POSITIVE_WORDS
from netcds.fhir.report import FhirMappingError
from netcds.fhir.wording import one_of, polarity_words
from netcds.patient import Patient
from tests.api.conftest import PV, Keys, make_settings
from tests.fhir.conftest import load

AS_OF = date(2025, 6, 1)
LNC = "http://loinc.org"
ICDO = "http://terminology.hl7.org/CodeSystem/icd-o-3"
MC = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
HIST_EXT = MC + "mcode-histology-morphology-behavior"


def base() -> dict[str, Any]:
    return copy.deepcopy(load("ileal_net_ssa_progression.json"))


def res(bundle: dict[str, Any], rid: str) -> dict[str, Any]:
    [r] = [e["resource"] for e in bundle["entry"] if e["resource"].get("id") == rid]
    return r


def add(bundle: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    url = f"http://example.org/fhir/{resource['resourceType']}/{resource['id']}"
    bundle["entry"].append({"fullUrl": url, "resource": resource})
    return bundle


def mapped(bundle: dict[str, Any]) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(bundle, as_of=AS_OF)


def reasons(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


# ---- 8. free-text SSTR results ---------------------------------------------------------------------------------
POSITIVE = [
    "SSTR-positive liver metastases",
    "Intense somatostatin receptor-avid liver lesions",
    "Result: positive",
    "Positive",
    "Multiple SSTR-positive lesions in liver and bone",
    "SSTR-positive lesions: present in the liver",
    "DOTATATE-avid hepatic metastases, Krenning 3",
]
NEGATIVE = [
    "SSTR-positive lesions: none",
    "SSTR-positive lesions: none seen",
    "SSTR-positive lesions: not seen",
    "No somatostatin receptor-positive lesions identified",
    "Uptake less than liver (Krenning 1); not positive",
    "SSTR-positive disease not seen",
    "Somatostatin receptor-positive lesions are not identified",
    "Negative",
    "No somatostatin receptor-avid disease; lesions negative on DOTATATE",
]
UNREAD = [
    "Somatostatin receptor positive disease cannot be excluded",
    "SSTR-positive disease cannot be ruled out",
    "Cannot exclude SSTR-positive disease",
    "SSTR-positive disease not excluded",
    "Possible SSTR-positive lesion in segment 7",
    "Probably SSTR-avid",
    "Equivocal SSTR-positive focus",
    "Indeterminate for SSTR-positive disease",
    "SSTR-positive?",
    "Suspicious for SSTR-positive metastasis",
    "No definite SSTR-positive disease",
    "No change in SSTR-positive liver lesions",
    "No new SSTR-avid lesions",
    "Weakly SSTR-positive",
    "No SSTR-positive disease except a small focus in the pelvis",
    "SSTR-positive disease not seen in the liver but present in bone",
    "Both SSTR-positive and SSTR-negative lesions",
    "report pending review",
]


@pytest.mark.parametrize(
    ("words", "value"),
    [*((w, True) for w in POSITIVE), *((w, False) for w in NEGATIVE), *((w, None) for w in UNREAD)],
)
def test_sstr_words_are_read_conservatively(words: str, value: bool | None) -> None:
    got, why = polarity_words(words, POSITIVE_WORDS, NEGATIVE_WORDS)
    assert got is value, (words, why)
    assert (why == "") is (value is not None)


@pytest.mark.parametrize("words", [*NEGATIVE, *UNREAD])
def test_negated_or_hedged_sstr_words_never_give_positive(words: str) -> None:
    for text in (words, words.lower(), words.upper(), f"Ga-68 DOTATATE PET/CT: {words}"):
        assert polarity_words(text, POSITIVE_WORDS, NEGATIVE_WORDS)[0] is not True, text


@pytest.mark.parametrize(
    ("words", "value"),
    [("SSTR-positive lesions: none", "negative"),  # y03
     ("Somatostatin receptor positive disease cannot be excluded", None)],  # y04
)  # fmt: skip
def test_sstr_pet_words_through_the_bundle(words: str, value: str | None) -> None:
    b = base()
    pet = res(b, "ileum-sstr-pet")
    for key in [k for k in pet if k.startswith("value") or k == "interpretation"]:
        del pet[key]  # the words alone, as in the review's y03 / y04
    pet["valueString"] = words
    p, report = mapped(b)
    assert p.tumor.sstr_status == value
    if value is None:
        why = reasons(report, "Observation/ileum-sstr-pet")
        assert "not readable as positive or negative" in why and "cannot be excluded" in why


def test_a_long_unread_statement_is_quoted_briefly() -> None:
    words = "Possible SSTR-positive focus " + "in the region of the hepatic hilum " * 10
    _, why = polarity_words(words, POSITIVE_WORDS, NEGATIVE_WORDS)
    assert "Possible SSTR-positive" in why and len(why) < 200


def test_hedged_msi_words_name_no_result() -> None:
    assert one_of("possible MSI-H", MSI_WORDS)[0] is None
    assert one_of("MSI-H", MSI_WORDS)[0] == "high"


# ---- 12. a histology Observation disagreeing with the Condition's morphology ---------------------------------
def histology_obs(morph: str, display: str, when: str = "2024-06-01", rid: str = "hist") -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": rid, "status": "final",
        "meta": {"profile": [MC + "mcode-histologic-behavior-and-type"]},
        "code": {"coding": [{"system": LNC, "code": "31206-6", "display": "Histology and Behavior ICD-O-3"}]},
        "subject": {"reference": "Patient/net-ileum-1"}, "effectiveDateTime": when,
        "focus": [{"reference": "Condition/ileum-primary"}],
        "valueCodeableConcept": {"coding": [{"system": ICDO, "code": morph, "display": display}]},
    }  # fmt: skip


def test_w03_newer_nec_histology_against_the_conditions_8249_leaves_differentiation_unknown() -> None:
    b = add(base(), histology_obs("8246/3", "Neuroendocrine carcinoma, NOS"))
    p, report = mapped(b)
    assert p.tumor.differentiation is None
    assert "tumor.differentiation" not in report.fields()
    for ref in ("Condition/ileum-primary", "Observation/hist"):
        why = reasons(report, ref)
        assert "8249/3" in why and "8246/3" in why, ref
        assert "Condition/ileum-primary" in why and "Observation/hist" in why, ref
        assert "differentiation" in why and "unknown" in why, ref


def test_a_well_differentiated_extension_and_a_poorly_differentiated_observation_disagree_either_way() -> (
    None
):
    b = add(base(), histology_obs("8249/3", "Neuroendocrine tumor, grade 2"))
    ext = next(e for e in res(b, "ileum-primary")["extension"] if e["url"] == HIST_EXT)
    ext["valueCodeableConcept"]["coding"][0].update(code="8246/3", display="Neuroendocrine carcinoma, NOS")
    p, report = mapped(b)
    assert p.tumor.differentiation is None
    assert "8246/3" in reasons(report, "Observation/hist")


def test_an_agreeing_histology_observation_keeps_the_differentiation() -> None:
    p, _ = mapped(add(base(), histology_obs("8240/3", "Neuroendocrine tumor, NOS")))
    assert p.tumor.differentiation == "well"


# ---- 9. administrative gender male with a pregnancy status of pregnant ---------------------------------------
def pregnancy_obs() -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": "preg", "status": "final",
        "code": {"coding": [{"system": LNC, "code": "82810-3", "display": "Pregnancy status"}]},
        "subject": {"reference": "Patient/net-ileum-1"}, "effectiveDateTime": "2025-05-01",
        "valueCodeableConcept": {"coding": [{"system": LNC, "code": "LA15173-0", "display": "Pregnant"}]},
    }  # fmt: skip


def w12() -> dict[str, Any]:
    b = add(base(), pregnancy_obs())
    assert res(b, "net-ileum-1")["gender"] == "male"
    return b


def test_w12_male_gender_and_pregnant_keeps_the_record_and_leaves_both_unknown() -> None:
    p, report = mapped(w12())
    assert p.tumor.primary_site == "ileum"
    assert p.pregnant is None and p.sex is None
    assert "sex" not in report.fields() and "pregnant" not in report.fields()
    for ref in ("Patient/net-ileum-1", "Observation/preg"):
        why = reasons(report, ref)
        assert "Patient/net-ileum-1" in why and "Observation/preg" in why, ref
        assert "administrative" in why and "unknown" in why, ref


def test_female_gender_and_pregnant_is_still_pregnant() -> None:
    b = w12()
    res(b, "net-ileum-1")["gender"] = "female"
    p, _ = mapped(b)
    assert (p.sex, p.pregnant) == ("female", True)


def _prefetch(bundle: dict[str, Any]) -> dict[str, Any]:
    keys = {"Condition": "conditions", "Observation": "observations", "MedicationRequest": "medicationRequests",
            "MedicationStatement": "medicationStatements"}  # fmt: skip
    out: dict[str, Any] = {}
    for e in bundle["entry"]:
        r = e["resource"]
        if r["resourceType"] == "Patient":
            out["patient"] = r
        else:
            ss = out.setdefault(
                keys[r["resourceType"]], {"resourceType": "Bundle", "type": "searchset", "entry": []}
            )
            ss["entry"].append({"fullUrl": e["fullUrl"], "resource": r, "search": {"mode": "match"}})
    return out


def test_w12_through_the_patient_view_hook_is_answered(tmp_path: Path) -> None:
    body = {
        "hook": "patient-view", "hookInstance": "11111111-2222-4333-8444-555555555555",
        "context": {"userId": "Practitioner/example", "patientId": "net-ileum-1"}, "prefetch": _prefetch(w12()),
    }  # fmt: skip
    app = create_app(make_settings(tmp_path, Keys(), hooks_open=True))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post(PV, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["cards"]


# ---- 14. the only primary entered in error or refuted ------------------------------------------------------------
@pytest.mark.parametrize("status", ["entered-in-error", "refuted"])
def test_the_error_names_why_the_only_primary_was_not_used(status: str) -> None:
    b = base()
    res(b, "ileum-primary")["verificationStatus"]["coding"][0]["code"] = status  # v01 and its refuted twin
    with pytest.raises(FhirMappingError) as err:
        mapped(b)
    assert err.value.field == "tumor.primary_site"
    assert "Condition/ileum-primary" in err.value.message and f"marked {status}" in err.value.message
    assert "primary site not recorded" not in err.value.message
