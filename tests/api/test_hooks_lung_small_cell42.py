"""Small cell and large cell neuroendocrine carcinoma of the lung are managed under the small cell lung cancer
guideline, not the NET one (QA session 42, L4): the CDS Hooks services answer no cards for them (as for a
primary nothing calls neuroendocrine, tests/api/test_hooks_need_ne_evidence41.py), the mapping report says
why (``other_guideline``), and a posted Bundle is still mapped and evaluated: the engine leaves the poorly
differentiated carcinoma outside its tables, with its reason. The same carcinoma outside the lung, and a lung
neuroendocrine carcinoma not otherwise specified, are unchanged."""

from __future__ import annotations

import copy
from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.fhir.mcode import prefetch_to_patient
from netcds.fhir.report import FhirMappingError
from tests.api.conftest import OS, PV, SNOMED, draft_cabozantinib
from tests.api.test_hooks_need_ne_evidence41 import site_coded
from tests.api.test_order_guideline_card import call

pytestmark = pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping absent")
LUNG = ("C34.90", "Malignant neoplasm of unspecified part of unspecified bronchus or lung")


def lung_words(display: str) -> dict[str, Any]:
    """The prefetch with a lung primary named in words only (ICD-10-CM C34.90 with ``display``)."""
    return site_coded("C34.90", display)


def snomed_lung_primary() -> dict[str, Any]:
    """An mCODE primary cancer condition coded SNOMED CT 254632001 (small cell carcinoma of lung), body site
    lung."""
    pf = copy.deepcopy(site_coded(*LUNG))
    primary = pf["conditions"]["entry"][0]["resource"]
    primary["meta"] = {
        "profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"]
    }
    primary["code"] = {
        "coding": [{"system": SNOMED, "code": "254632001", "display": "Small cell carcinoma of lung"}]
    }
    primary["bodySite"] = [{"coding": [{"system": SNOMED, "code": "39607008", "display": "Lung structure"}]}]
    return pf


SCLC_OR_LCNEC = {
    "ICD-O-3 8041/3": site_coded(*LUNG, morphology="8041/3"),
    "ICD-O-3 8013/3": site_coded(*LUNG, morphology="8013/3"),
    "ICD-O-3 8045/3": site_coded(*LUNG, morphology="8045/3"),
    "words small cell": lung_words("Small cell carcinoma of lung"),
    "words LCNEC": lung_words("Large cell neuroendocrine carcinoma of the right upper lobe"),
    "SNOMED CT 254632001": snomed_lung_primary(),
}


@pytest.mark.parametrize("case", SCLC_OR_LCNEC)
def test_patient_view_is_silent_for_small_cell_and_large_cell_ne_carcinoma_of_the_lung(
    open_client: TestClient, case: str
) -> None:
    assert call(open_client, PV, SCLC_OR_LCNEC[case]) == []


def test_order_sign_lays_out_no_net_options_for_it(open_client: TestClient) -> None:
    found = call(open_client, OS, SCLC_OR_LCNEC["ICD-O-3 8041/3"], draft_cabozantinib())
    assert not any(c["source"]["topic"]["code"] == "therapy-options" for c in found)
    assert all(c["indicator"] == "info" for c in found)


@pytest.mark.parametrize("case", SCLC_OR_LCNEC)
def test_the_mapping_says_why_and_still_maps_it(case: str) -> None:
    patient, report = prefetch_to_patient(SCLC_OR_LCNEC[case])
    assert patient.tumor.primary_site == "lung" and patient.tumor.differentiation == "poor"
    assert report.other_guideline is not None
    assert report.other_guideline.startswith("Condition/c-net: ")
    assert (
        "of the lung" in report.other_guideline
        and "small cell lung cancer guideline" in report.other_guideline
    )
    assert report.neuroendocrine_evidence  # neuroendocrine, but another guideline's


def test_the_rest_bundle_is_still_evaluated_to_the_poorly_differentiated_exclusion(
    client: TestClient,
) -> None:
    pf = SCLC_OR_LCNEC["ICD-O-3 8041/3"]
    entries = [{"resource": pf["patient"]}] + [
        e for k in ("conditions", "observations") for e in pf[k]["entry"]
    ]
    r = client.post(
        "/api/v1/evaluate/fhir", json={"resourceType": "Bundle", "type": "collection", "entry": entries}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert "small cell carcinoma of the lung" in body["mapping"]["other_guideline"]
    setting = body["evaluation"]["setting"]
    assert setting["status"] == "not_applicable"
    assert any(
        reason.startswith("Poorly differentiated neuroendocrine carcinoma") for reason in setting["reasons"]
    )


@pytest.mark.parametrize(
    "pf",
    [
        site_coded("C25.9", "Malignant neoplasm of pancreas", morphology="8041/3"),  # extrapulmonary NEC
        site_coded(*LUNG, morphology="8246/3"),  # lung neuroendocrine carcinoma, not otherwise specified
    ],
)
def test_extrapulmonary_and_unspecified_neuroendocrine_carcinoma_are_unchanged(
    open_client: TestClient, pf: dict[str, Any]
) -> None:
    cards = call(open_client, PV, pf)
    assert [c["summary"] for c in cards] == [
        "No NCCN NET V.5.2024 systemic-therapy table applies to the recorded facts"
    ]
    assert prefetch_to_patient(pf)[1].other_guideline is None


def test_non_small_cell_words_are_no_small_cell_carcinoma() -> None:
    with pytest.raises(FhirMappingError, match="is not a neuroendocrine neoplasm"):  # as before, not SCLC
        prefetch_to_patient(lung_words("Non-small cell carcinoma of lung"))
