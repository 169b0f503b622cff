"""A huge or tiny draft dose is printed compactly in card text (QA session 42, L-dose: a 1e308 mg draft was
printed with all its 309 digits); normal doses print as before (60 mg, 37.5 mg, 600000 mg)."""

from __future__ import annotations

import re
from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.fhir.draft_dose import dose_value
from tests.api.conftest import CLARITHROMYCIN, OS, draft_cabozantinib, hook_request, prefetch
from tests.api.test_order_guideline_card import call

pytestmark = [
    pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping absent"),
    pytest.mark.skipif(find_spec("netcds.safety") is None, reason="safety layer absent"),
]
LONG_NUMBER = re.compile(r"\d{17,}")


def with_dose(value: float, unit: str = "mg") -> dict[str, Any]:
    draft = draft_cabozantinib()
    draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"].update(value=value, unit=unit, code=unit)
    return draft


@pytest.mark.parametrize(
    ("mg", "shown"),
    [(60.0, "60"), (37.5, "37.5"), (600000.0, "600000"), (1e15, "1000000000000000"), (1e308, "1e+308"),
     (1e20, "1e+20"), (1e-300, "1e-300"), (0.0001, "0.0001"), (2.5e-05, "2.5e-05")],
)  # fmt: skip
def test_dose_value_prints_huge_and_tiny_doses_compactly(mg: float, shown: str) -> None:
    assert f"{dose_value(mg)}" == shown


def test_a_1e308_mg_draft_is_printed_compactly_on_the_above_label_card(open_client: TestClient) -> None:
    cards = call(open_client, OS, prefetch(), with_dose(1e308))
    (card,) = [c for c in cards if "above the labelled dose" in c["summary"]]
    assert (
        card["summary"]
        == "Cabozantinib: ordered 1e+308 mg is above the labelled dose for this patient (60 mg)"
    )
    assert "**Draft cabozantinib dose:** 1e+308 mg" in card["detail"]
    for c in cards:
        assert not LONG_NUMBER.search(c["summary"] + c["detail"]), c["summary"]


@pytest.mark.parametrize(
    ("value", "unit", "shown"), [(1e308, "mg", "1e+308 mg"), (1e-300, "mg", "1e-300 mg")]
)
def test_the_adjusted_dose_card_prints_the_draft_dose_compactly(
    open_client: TestClient, value: float, unit: str, shown: str
) -> None:
    cards = call(open_client, OS, prefetch([CLARITHROMYCIN]), with_dose(value, unit))
    assert any(f"**Draft cabozantinib dose:** {shown}" in c["detail"] for c in cards)
    for c in cards:
        assert not LONG_NUMBER.search(c["summary"] + c["detail"]), c["summary"]


def test_a_dose_beyond_any_finite_mg_amount_is_refused_naming_it(open_client: TestClient) -> None:
    r = open_client.post(
        OS, json=hook_request("order-sign", prefetch_data=prefetch(), drafts=[with_dose(1e306, "g")])
    )
    assert r.status_code == 422, r.text  # 1e309 mg: no number a card could state ("inf mg") or compare
    (error,) = r.json()["errors"]
    assert error["field"].endswith("doseAndRate[0].doseQuantity.value") and "finite" in error["message"]
