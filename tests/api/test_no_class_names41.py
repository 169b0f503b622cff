"""Error messages name JSON kinds, never the Python models behind them (QA session 41, LOW: "must be a valid
dictionary or instance of HookRequest")."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import PV, hook_request


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], None),
        ({**hook_request("patient-view"), "fhirServer": "https://ehr.example/fhir", "fhirAuthorization": "abc"},
         "fhirAuthorization"),
    ],
)  # fmt: skip
def test_a_hook_body_of_the_wrong_kind_is_named_in_json_words(
    open_client: TestClient, body: Any, field: str | None
) -> None:
    r = open_client.post(PV, json=body)
    assert r.status_code == 422, r.text
    text = r.text
    assert "instance of" not in text and "HookRequest" not in text and "FhirAuthorization" not in text
    assert "expected a JSON object" in text
    if field:
        assert any(e["field"] == field for e in r.json()["errors"])


def test_the_rest_patient_of_the_wrong_kind_too(open_client: TestClient) -> None:
    r = open_client.post("/api/v1/evaluate", json={"patient": [1]})
    assert r.status_code == 422 and "instance of" not in r.text
