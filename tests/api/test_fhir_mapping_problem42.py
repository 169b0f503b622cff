"""A FHIR Bundle that gives no neuroendocrine primary is refused with a 422 naming the actual problem, and the
problem document carries the mapping report so far (``mapping``) (QA session 42, M4): a chronic lymphocytic
leukemia beside a metastasis was told "primary site not recorded", with no account of what was read."""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.fhir.mcode import bundle_to_patient
from netcds.fhir.report import FhirMappingError
from tests.api.conftest import ICD10, SNOMED, prefetch

pytestmark = pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping absent")
FHIR = "/api/v1/evaluate/fhir"
PRIMARY = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"


def condition(cid: str, code: str, display: str | None, system: str = ICD10, **extra: Any) -> dict[str, Any]:
    coding = {"system": system, "code": code, **({"display": display} if display else {})}
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [coding]},
        **extra,
    }


CLL = condition("c1", "C91.10", "Chronic lymphocytic leukemia of B-cell type not having achieved remission")
LIVER = condition("c2", "C78.7", "Secondary malignant neoplasm of liver")
METASTATIC = condition("c2", "128462008", "Metastatic malignant neoplasm", SNOMED)


def bundle(*conditions: dict[str, Any]) -> dict[str, Any]:
    resources = [prefetch()["patient"], *conditions]
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


@pytest.mark.parametrize("metastasis", [LIVER, METASTATIC])
def test_a_leukemia_beside_a_metastasis_is_told_it_is_no_net_with_the_report(
    client: TestClient, metastasis: dict[str, Any]
) -> None:
    r = client.post(FHIR, json=bundle(CLL, metastasis))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    (error,) = problem["errors"]
    assert error["field"] == "tumor.primary_site"
    message = error["message"]
    assert message.startswith("no primary cancer in the record is a neuroendocrine tumor: Condition/c1 (")
    assert "is another cancer" in message and "Condition/c2" in message and "is a metastasis" in message
    assert "primary site not recorded" not in message and "needs the primary site" not in message
    assert len(message) <= 300 and not message.endswith("…")  # whole, not cut
    mapping = problem["mapping"]  # what was read, what was left out and why
    read = {(m["field"], m["from"].split(" ")[0]) for m in mapping["mapped"]}
    assert ("comorbidities.other", "Condition/c1") in read and ("disease.extent", "Condition/c2") in read
    assert isinstance(mapping["unmapped"], list) and mapping["neuroendocrine_evidence"] == []


def test_a_primary_cancer_condition_coded_as_leukemia_is_said_to_be_no_net() -> None:
    cll = condition("c1", "C91.10", None, meta={"profile": [PRIMARY]})  # no display: nothing names it
    with pytest.raises(FhirMappingError) as err:
        bundle_to_patient(bundle(cll, LIVER))
    assert err.value.message.startswith(
        "the recorded primary cancer Condition/c1 (ICD-10-CM C91.10) is not a neuroendocrine tumor"
    )
    assert "primary site not recorded" not in err.value.message


def test_a_net_without_a_site_is_still_asked_for_its_site(client: TestClient) -> None:
    net = condition("c1", "C7A.1", "Malignant poorly differentiated neuroendocrine tumors")
    r = client.post(FHIR, json=bundle(net))
    assert r.status_code == 422
    message = r.json()["errors"][0]["message"]
    assert message.startswith("the primary site of the neuroendocrine tumor Condition/c1 (")
    assert "netcds needs the primary site" in message and "mapping" in r.json()


def test_a_problem_that_is_not_a_mapping_failure_carries_no_mapping(client: TestClient) -> None:
    r = client.post(FHIR, json={"resourceType": "Patient"})
    assert r.status_code == 422 and "mapping" not in r.json()
