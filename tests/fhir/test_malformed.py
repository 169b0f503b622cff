"""Malformed FHIR input raises InputError naming the place; unknown codes are reported, never guessed."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from netcds.errors import InputError
from netcds.fhir import FhirMappingError, bundle_to_patient, prefetch_to_patient
from tests.fhir.conftest import load, wrap

AS_OF = date(2025, 6, 1)
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}
PRIMARY = {
    "resourceType": "Condition",
    "id": "c1",
    "meta": {"profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"]},
    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C7A.012"}]},
    "subject": {"reference": "Patient/p1"},
}


def minimal(*extra: dict[str, Any]) -> dict[str, Any]:
    return wrap(PATIENT, PRIMARY, *extra)


def field_of(bundle: Any) -> str:
    with pytest.raises(InputError) as err:
        bundle_to_patient(bundle, as_of=AS_OF)
    return err.value.field


# ---- structure ----------------------------------------------------------------------------------
def test_not_an_object() -> None:
    assert field_of(["not", "a", "bundle"]) == "bundle"


def test_not_a_bundle() -> None:
    assert field_of(PATIENT) == "resourceType"


def test_entry_not_a_list() -> None:
    assert (
        field_of({"resourceType": "Bundle", "type": "collection", "entry": {"resource": PATIENT}}) == "entry"
    )


def test_entry_without_resource() -> None:
    bundle = minimal()
    bundle["entry"].append({"fullUrl": "urn:uuid:1"})
    assert field_of(bundle) == "entry[2].resource"


def test_entry_not_an_object() -> None:
    bundle = minimal()
    bundle["entry"].insert(1, "Condition/c1")
    assert field_of(bundle) == "entry[1]"


def test_unknown_resource_type() -> None:
    assert field_of(minimal({"resourceType": "Tumour", "id": "x"})) == "entry[2].resource.resourceType"


def test_bundle_without_type() -> None:
    assert field_of({"resourceType": "Bundle", "entry": []}) == "type"


# ---- wrong types --------------------------------------------------------------------------------
def test_code_is_a_string_not_a_codeable_concept() -> None:
    bad = copy.deepcopy(PRIMARY)
    bad["code"] = "C7A.012"
    assert field_of(wrap(PATIENT, bad)) == "entry[1].resource.code"


def test_coding_code_is_a_number() -> None:
    bad = copy.deepcopy(PRIMARY)
    bad["code"]["coding"][0]["code"] = 7012
    assert field_of(wrap(PATIENT, bad)) == "entry[1].resource.code.coding[0].code"


def test_unknown_element() -> None:
    bad = {**PATIENT, "favouriteColour": "blue"}
    assert field_of(wrap(bad, PRIMARY)) == "entry[0].resource.favouriteColour"


def test_ki67_value_not_a_number() -> None:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29593-1"}]},
        "valueQuantity": {"value": "eight", "unit": "%"},
    }
    assert field_of(minimal(obs)) == "entry[2].resource.valueQuantity.value"


# ---- dates ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("birth", ["1970-13-45", "1970-02-30", "yesterday"])
def test_bad_birth_date(birth: str) -> None:
    assert field_of(wrap({**PATIENT, "birthDate": birth}, PRIMARY)) == "entry[0].resource.birthDate"


def test_period_end_before_start() -> None:
    stmt = {
        "resourceType": "MedicationStatement",
        "status": "completed",
        "medicationCodeableConcept": {"text": "everolimus 10 mg"},
        "subject": {"reference": "Patient/p1"},
        "effectivePeriod": {"start": "2024-05-01", "end": "2024-01-01"},
    }
    assert field_of(minimal(stmt)) == "entry[2].resource.effectivePeriod.end"


def test_bad_date_inside_an_observation() -> None:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "effectiveDateTime": "2024-02-31",
        "valueQuantity": {"value": 70, "unit": "kg", "code": "kg"},
    }
    assert field_of(minimal(obs)) == "entry[2].resource.effectiveDateTime"


# ---- prefetch ---------------------------------------------------------------------------------------
def test_prefetch_not_an_object() -> None:
    with pytest.raises(InputError) as err:
        prefetch_to_patient([PATIENT])  # type: ignore[arg-type]
    assert err.value.field == "prefetch"


def test_prefetch_bad_resource_is_located() -> None:
    bad = copy.deepcopy(PRIMARY)
    bad["code"] = 5
    search = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": bad}]}
    with pytest.raises(InputError) as err:
        prefetch_to_patient({"patient": PATIENT, "conditions": search})
    assert err.value.field == "prefetch.conditions.entry[0].resource.code"


# ---- nothing to evaluate -------------------------------------------------------------------------
def test_no_primary_cancer_names_primary_site_and_keeps_the_report() -> None:
    with pytest.raises(FhirMappingError) as err:
        bundle_to_patient(wrap(PATIENT), as_of=AS_OF)
    assert err.value.field == "tumor.primary_site"
    assert err.value.report is not None
    assert err.value.report.fields()["sex"] == "female"


def test_non_neuroendocrine_primary_is_refused() -> None:
    adeno = copy.deepcopy(PRIMARY)
    adeno["code"] = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C18.7"}]}
    adeno["extension"] = [
        {
            "url": "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior",
            "valueCodeableConcept": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/icd-o-3", "code": "8140/3"}]
            },
        }
    ]
    with pytest.raises(FhirMappingError) as err:
        bundle_to_patient(wrap(PATIENT, adeno), as_of=AS_OF)
    assert err.value.field == "tumor.primary_site"
    assert "not a neuroendocrine" in err.value.message


def test_unreadable_site_names_primary_site() -> None:
    kidney = copy.deepcopy(PRIMARY)
    kidney["code"] = {"text": "Neuroendocrine tumour"}
    kidney["bodySite"] = [{"coding": [{"system": "http://snomed.info/sct", "code": "64033007"}]}]
    with pytest.raises(FhirMappingError) as err:
        bundle_to_patient(wrap(PATIENT, kidney), as_of=AS_OF)
    assert err.value.field == "tumor.primary_site"
    assert err.value.report is not None
    assert any("primary site not coded" in u.reason for u in err.value.report.unmapped)


def test_two_primaries_with_different_sites_are_refused() -> None:
    other = {**copy.deepcopy(PRIMARY), "id": "c2"}
    other["code"] = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C7A.090"}]}
    with pytest.raises(FhirMappingError) as err:
        bundle_to_patient(wrap(PATIENT, PRIMARY, other), as_of=AS_OF)
    assert err.value.field == "tumor.primary_site"
    assert "several primary" in err.value.message


# ---- unknown codes -> unmapped, absent -> unknown -------------------------------------------------
def test_minimal_bundle_leaves_everything_else_unknown() -> None:
    p, report = bundle_to_patient(minimal(), as_of=AS_OF)
    assert p.tumor.primary_site == "ileum"
    assert p.tumor.functional is None
    assert p.tumor.sstr_status is None
    assert p.tumor.grade is None
    assert p.disease.extent is None and p.disease.status is None
    assert p.biomarkers.germline_vhl is None and p.biomarkers.msi is None
    assert p.treatments is None and p.medications is None
    assert p.comorbidities.diabetes is None and p.comorbidities.hypertension is None
    assert any("histology not recorded" in u.reason for u in report.unmapped) is False
    assert p.age_years == 55


def test_unknown_codes_are_reported_not_guessed() -> None:
    odd_obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "99999-9", "display": "Mystery"}]},
        "valueQuantity": {"value": 1},
    }
    odd_status = {
        "resourceType": "Observation",
        "id": "o2",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "97509-4"}]},
        "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "123456789"}]},
    }
    odd_drug = {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "meta": {
            "profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-related-medication-request"]
        },
        "status": "completed",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                  "code": "0000001", "display": "experimental agent X"}]},
        "subject": {"reference": "Patient/p1"},
    }  # fmt: skip
    msi_low = {
        "resourceType": "Observation",
        "id": "o3",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "81695-9"}]},
        "valueCodeableConcept": {
            "coding": [{"system": "http://loinc.org", "code": "LA26202-4", "display": "MSI-L"}]
        },
    }
    p, report = bundle_to_patient(minimal(odd_obs, odd_status, odd_drug, msi_low), as_of=AS_OF)
    reasons = {u.resource: u.reason for u in report.unmapped}
    assert "not used" in reasons["Observation/o1"]
    assert "disease status" in reasons["Observation/o2"]
    assert "outside the netcds agent table" in reasons["MedicationRequest/m1"]
    assert "MSI" in reasons["Observation/o3"]
    assert p.disease.status is None
    assert p.biomarkers.msi is None
    assert p.treatments is None


def test_resources_about_another_patient_are_not_merged() -> None:
    ki67 = {
        "resourceType": "Observation",
        "id": "k",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29593-1"}]},
        "subject": {"reference": "Patient/someone-else"},
        "valueQuantity": {"value": 40, "unit": "%", "code": "%"},
    }
    p, report = bundle_to_patient(minimal(ki67), as_of=AS_OF)
    assert p.tumor.ki67_percent is None
    assert any(u.resource == "Observation/k" and "another patient" in u.reason for u in report.unmapped)


def test_ki67_bound_and_wrong_unit_are_reported() -> None:
    def ki(i: str, q: dict[str, Any]) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": i,
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29593-1"}]},
            "valueQuantity": q,
        }

    p, report = bundle_to_patient(
        minimal(ki("b", {"value": 2, "comparator": "<", "unit": "%", "code": "%"}), ki("u", {"value": 0.08})),
        as_of=AS_OF,
    )
    assert p.tumor.ki67_percent is None
    reasons = {u.resource: u.reason for u in report.unmapped}
    assert "bound" in reasons["Observation/b"]
    assert "not %" in reasons["Observation/u"]


def test_latest_value_wins_and_older_is_reported() -> None:
    def status(i: str, when: str, code: str) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": i,
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "97509-4"}]},
            "effectiveDateTime": when,
            "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
        }

    newer = status("new", "2025-05-01", "271299001")
    older = status("old", "2024-05-01", "359746009")
    p, report = bundle_to_patient(minimal(newer, older), as_of=AS_OF)
    assert p.disease.status == "progressive"
    assert any(u.resource == "Observation/old" and "superseded" in u.reason for u in report.unmapped)


def test_absent_sstr_result_stays_unknown() -> None:
    pet = {
        "resourceType": "Observation",
        "id": "pet",
        "status": "final",
        "code": {"text": "Ga-68 DOTATATE PET/CT"},
        "valueString": "report pending review",
    }
    p, report = bundle_to_patient(minimal(pet), as_of=AS_OF)
    assert p.tumor.sstr_status is None
    assert any(u.resource == "Observation/pet" for u in report.unmapped)


def test_bundle_fixture_still_valid_after_deep_copy() -> None:
    # guard: the tests above must not have mutated the shared fixture
    assert load("ileal_net_ssa_progression.json")["entry"][0]["resource"]["id"] == "net-ileum-1"


def test_resources_of_several_patients_without_a_patient_resource() -> None:
    other = {**copy.deepcopy(PRIMARY), "id": "c9", "subject": {"reference": "Patient/p2"}}
    with pytest.raises(InputError) as err:
        bundle_to_patient(wrap(PRIMARY, other), as_of=AS_OF)
    assert err.value.field == "entry"
    assert "several patients" in err.value.message


def test_a_primary_about_another_patient_is_named_as_set_aside_not_as_missing() -> None:
    other = copy.deepcopy(PRIMARY)
    other["subject"] = {"reference": "Patient/someone-else"}
    with pytest.raises(FhirMappingError) as err:
        bundle_to_patient(wrap(PATIENT, other), as_of=AS_OF)
    assert err.value.field == "tumor.primary_site"
    assert "about another patient were set aside" in str(err.value)
    with pytest.raises(FhirMappingError) as err:  # nothing set aside: the plain message
        bundle_to_patient(wrap(PATIENT), as_of=AS_OF)
    assert "no primary cancer condition in the input" in str(err.value)


@pytest.mark.parametrize("lobe", ["31094006", "45653009", "72481006", "90572001", "41224006"])
def test_a_lung_lobe_body_site_is_a_lung_primary(lobe: str) -> None:
    lung = copy.deepcopy(PRIMARY)
    lung["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "1187332001"}]}  # NET, no site
    lung["bodySite"] = [{"coding": [{"system": "http://snomed.info/sct", "code": lobe}]}]
    p, _ = bundle_to_patient(wrap(PATIENT, lung), as_of=AS_OF)
    assert p.tumor.primary_site == "lung"
