"""The CDS Hooks services see every chart: a primary cancer that nothing in the record calls neuroendocrine
(a lung, colon, pancreas or stomach cancer code alone) gets no cards (QA session 41, HIGH); a NET code,
a neuroendocrine morphology or a hormone syndrome beside the site code does. The REST mapping of an
explicitly posted Bundle still evaluates the site-coded cancer and says what (nothing) called it
neuroendocrine (``neuroendocrine_evidence``)."""

from __future__ import annotations

import copy
from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.fhir.mcode import bundle_to_patient, prefetch_to_patient
from netcds.fhir.report import FhirMappingError
from tests.api.conftest import ICD10, OS, PV, draft_cabozantinib, prefetch
from tests.api.test_order_guideline_card import call as cards

pytestmark = pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping absent")
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
MORPHOLOGY = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior"


def site_coded(code: str, display: str, *, morphology: str | None = None) -> dict[str, Any]:
    """The realistic prefetch with its primary recoded as ``code`` (no body site, no NET code)."""
    pf = copy.deepcopy(prefetch())
    primary = pf["conditions"]["entry"][0]["resource"]
    primary["code"] = {"coding": [{"system": ICD10, "code": code, "display": display}]}
    primary.pop("bodySite", None)
    if morphology:
        primary["extension"] = [
            {"url": MORPHOLOGY, "valueCodeableConcept": {"coding": [{"system": ICDO3, "code": morphology}]}}
        ]
    return pf


def with_condition(pf: dict[str, Any], code: str, display: str) -> dict[str, Any]:
    out = copy.deepcopy(pf)
    extra = copy.deepcopy(out["conditions"]["entry"][1]["resource"])
    extra.update(id="c-extra", code={"coding": [{"system": ICD10, "code": code, "display": display}]})
    extra.pop("bodySite", None)
    out["conditions"]["entry"].append({"resource": extra})
    return out


@pytest.mark.parametrize(
    ("code", "display"),
    [
        ("C34.90", "Malignant neoplasm of unspecified part of unspecified bronchus or lung"),
        ("C18.7", "Malignant neoplasm of sigmoid colon"),
        ("C25.9", "Malignant neoplasm of pancreas, unspecified"),
        ("C16.9", "Malignant neoplasm of stomach, unspecified"),
    ],
)
def test_patient_view_is_silent_for_a_cancer_nothing_calls_neuroendocrine(
    open_client: TestClient, code: str, display: str
) -> None:
    assert cards(open_client, PV, site_coded(code, display)) == []


def test_the_same_chart_with_a_net_morphology_gets_its_cards(open_client: TestClient) -> None:
    found = cards(open_client, PV, site_coded("C25.9", "Malignant neoplasm of pancreas", morphology="8240/3"))
    assert found and any("pancrea" in c["summary"].lower() or "table" in c["summary"].lower() for c in found)


def test_a_hormone_syndrome_beside_a_site_coded_cancer_counts_as_neuroendocrine(
    open_client: TestClient,
) -> None:
    pf = with_condition(site_coded("C17.2", "Malignant neoplasm of ileum"), "E34.0", "Carcinoid syndrome")
    assert cards(open_client, PV, pf)


def test_order_sign_of_an_agent_for_a_non_ne_cancer_does_not_lay_out_net_options(
    open_client: TestClient,
) -> None:
    found = cards(open_client, OS, site_coded("C34.90", "Malignant neoplasm of lung"), draft_cabozantinib())
    assert not any(c.get("source", {}).get("topic", {}).get("code") == "therapy-options" for c in found)
    assert all("not an all-clear" in (c.get("detail") or "") or c["indicator"] == "info" for c in found)


def test_mapping_reports_the_evidence_and_refuses_only_when_asked() -> None:
    pf = site_coded("C34.90", "Malignant neoplasm of lung")
    patient, report = prefetch_to_patient(pf)
    assert patient.tumor.primary_site == "lung" and report.neuroendocrine_evidence == []
    with pytest.raises(FhirMappingError) as err:
        prefetch_to_patient(pf, require_neuroendocrine=True)
    assert err.value.field == "tumor" and "not recorded as neuroendocrine" in err.value.message
    _, report = prefetch_to_patient(prefetch(), require_neuroendocrine=True)
    assert report.neuroendocrine_evidence == [
        "Condition/c-net: recorded as a neuroendocrine tumor",
        "Condition/c-net: histology ICD-10-CM carcinoid tumor code",
    ]
    _, report = prefetch_to_patient(site_coded("C25.9", "pancreas", morphology="8240/3"))
    assert [e.split(":")[0] for e in report.neuroendocrine_evidence] == ["Condition/c-net", "Condition/c-net"]


def test_the_rest_bundle_of_a_site_coded_cancer_is_still_evaluated() -> None:
    pf = site_coded("C16.9", "Malignant neoplasm of stomach")
    entries = [{"resource": pf["patient"]}] + [e for k in ("conditions",) for e in pf[k]["entry"]]
    patient, report = bundle_to_patient({"resourceType": "Bundle", "type": "collection", "entry": entries})
    assert patient.tumor.primary_site == "stomach" and report.neuroendocrine_evidence == []
