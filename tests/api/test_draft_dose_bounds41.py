"""A draft dose of zero or less is refused with a 422 naming it (QA session 41, MEDIUM: a 0 or -60 mg
cabozantinib draft got no dose card at all); a large dose is answered (the above-label card warns of it)."""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import OS, draft_cabozantinib, hook_request, prefetch

pytestmark = [
    pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping absent"),
    pytest.mark.skipif(find_spec("netcds.safety") is None, reason="safety layer absent"),
]
FIELD = "context.draftOrders.entry[0].resource.dosageInstruction[0].doseAndRate[0].doseQuantity.value"


def sign(client: TestClient, draft: dict[str, Any]) -> Any:
    return client.post(OS, json=hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft]))


def with_dose(value: float, unit: str = "mg") -> dict[str, Any]:
    draft = draft_cabozantinib()
    q = draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    q.update(value=value, unit=unit, code=unit)
    return draft


@pytest.mark.parametrize(("value", "unit"), [(0, "mg"), (-60, "mg"), (-1, "tablet"), (0.0, "g")])
def test_an_impossible_draft_dose_is_refused_naming_it(
    open_client: TestClient, value: float, unit: str
) -> None:
    r = sign(open_client, with_dose(value, unit))
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["errors"][0]["field"] == FIELD
    assert len(r.text) < 2000


@pytest.mark.parametrize(
    ("value", "unit"), [(60, "mg"), (0.06, "g"), (2, "tablet"), (500000, "ug"), (600, "g")]
)
def test_a_possible_draft_dose_is_answered(open_client: TestClient, value: float, unit: str) -> None:
    assert sign(open_client, with_dose(value, unit)).status_code == 200


def test_a_dose_range_bound_of_zero_or_less_is_refused(open_client: TestClient) -> None:
    draft = draft_cabozantinib()
    draft["dosageInstruction"][0]["doseAndRate"] = [
        {"doseRange": {"low": {"value": -20, "unit": "mg"}, "high": {"value": 60, "unit": "mg"}}}
    ]
    r = sign(open_client, draft)
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("doseRange.low.value")
