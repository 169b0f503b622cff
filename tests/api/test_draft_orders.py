"""Draft orders as the order hooks read them: a structurally invalid draft is a 422 naming its place (never a
500), valid R4 netcds does not read is not refused, a drug named by ``medicationReference`` is followed, and
an order whose drug cannot be read gets a card saying it was not checked."""

from __future__ import annotations

import copy
from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api.orders import draft_medications
from netcds.fhir.cards import order_cards
from tests.api.conftest import (
    CLARITHROMYCIN,
    OS,
    OSEL,
    RXNORM,
    UCUM,
    draft_cabozantinib,
    hook_request,
    prefetch,
)
from tests.api.test_cards import _screen

needs_layers = pytest.mark.skipif(
    find_spec("netcds.safety") is None or find_spec("netcds.fhir.mcode") is None, reason="layers absent"
)
ENTRY = "context.draftOrders.entry[0].resource"


def _sign(client: TestClient, *drafts: dict[str, Any], entries: list[dict[str, Any]] | None = None) -> Any:
    body = hook_request("order-sign", prefetch_data=prefetch(), drafts=list(drafts))
    if entries is not None:
        body["context"]["draftOrders"]["entry"] = entries
    return client.post(OS, json=body)


def _malformed(where: str, value: Any) -> dict[str, Any]:
    draft = draft_cabozantinib(60)
    if where == "dosageInstruction":
        draft["dosageInstruction"] = value
    elif where == "doseAndRate":
        draft["dosageInstruction"][0]["doseAndRate"] = value
    else:
        draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] = value
    return draft


# --- 1. malformed drafts: 422, never a 500 ------------------------------------------------------------------
@needs_layers
@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (_malformed("dosageInstruction", ["x"]), f"{ENTRY}.dosageInstruction[0]"),
        (_malformed("dosageInstruction", "x"), f"{ENTRY}.dosageInstruction"),
        (_malformed("doseAndRate", "x"), f"{ENTRY}.dosageInstruction[0].doseAndRate"),
        (_malformed("doseAndRate", ["x"]), f"{ENTRY}.dosageInstruction[0].doseAndRate[0]"),
        (_malformed("doseQuantity", "x"), f"{ENTRY}.dosageInstruction[0].doseAndRate[0].doseQuantity"),
        ({**draft_cabozantinib(60), "bogusField": 1}, f"{ENTRY}.bogusField"),
    ],
    ids=["instruction-item", "instruction-string", "rate-string", "rate-item", "quantity-string", "unknown"],
)
def test_a_malformed_draft_is_422_naming_its_field(
    open_client: TestClient, draft: dict[str, Any], field: str
) -> None:
    r = _sign(open_client, draft)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field]
    again = _sign(open_client, draft)  # nothing half-built was cached
    assert again.status_code == 422


def test_malformed_dose_elements_read_as_no_dose() -> None:
    """The card builders read any JSON (a caller that did not validate the draft gets no 500 either)."""
    for draft in (_malformed("dosageInstruction", ["x"]), _malformed("doseQuantity", "x")):
        cards = order_cards(_screen(), draft, base_url="http://cds.example.test", seed="s")
        assert "not stated as a mg quantity" in cards[0]["detail"]
        assert not any("suggestions" in c for c in cards)


@needs_layers
def test_valid_r4_netcds_does_not_read_is_not_refused(open_client: TestClient) -> None:
    draft = draft_cabozantinib(60)
    mg = {"unit": "mg", "system": UCUM, "code": "mg"}
    draft["dosageInstruction"][0]["doseAndRate"] = [
        {"doseRange": {"low": {"value": 40, **mg}, "high": {"value": 60, **mg}}}
    ]
    draft["dispenseRequest"] = {"quantity": {"value": 30, "unit": "tablet", "system": UCUM, "code": "{tbl}"}}
    r = _sign(open_client, draft)
    assert r.status_code == 200, r.text


# --- 4. medicationReference ---------------------------------------------------------------------------------
def _by_reference(draft: dict[str, Any], reference: str, display: str | None = None) -> dict[str, Any]:
    out = copy.deepcopy(draft)
    del out["medicationCodeableConcept"]
    out["medicationReference"] = {"reference": reference, **({"display": display} if display else {})}
    return out


MEDICATION = {
    "resourceType": "Medication",
    "id": "med-cabo",
    "code": {"coding": [{"system": RXNORM, "display": "cabozantinib Oral Tablet [Cabometyx]"}]},
}
CLARI_MED = {
    "resourceType": "Medication",
    "id": "med-clari",
    "code": {"text": "clarithromycin 500 mg tablet"},
}


def test_medication_reference_is_followed() -> None:
    contained = _by_reference(draft_cabozantinib(60), "#m1")
    contained["contained"] = [{**MEDICATION, "id": "m1"}]
    by_url = _by_reference(draft_cabozantinib(60), "urn:uuid:5e0f7a1c-7d9e-4c1b-9c8e-1f2a3b4c5d6e")
    by_id = _by_reference(draft_cabozantinib(60), "Medication/med-cabo")
    display = _by_reference(draft_cabozantinib(60), "Medication/elsewhere", "Cabometyx 60 mg tablet")
    clari = _by_reference(CLARITHROMYCIN, "Medication/med-clari")
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": contained},
            {"resource": by_url},
            {"resource": by_id},
            {"resource": display},
            {"resource": clari},
            {"fullUrl": "urn:uuid:5e0f7a1c-7d9e-4c1b-9c8e-1f2a3b4c5d6e", "resource": MEDICATION},
            {"resource": CLARI_MED},
        ],
    }
    drafts = draft_medications(bundle)
    assert [d.agent for d in drafts] == ["cabozantinib"] * 4 + [None]
    assert drafts[4].name == "clarithromycin" and not any(d.unread for d in drafts)
    assert drafts[1].drug.medication is not None and drafts[1].drug.medication.loc.endswith(
        "entry[5].resource"
    )
    assert drafts[3].drug.strengths_mg == [60.0]  # the display's words


@needs_layers
def test_order_sign_checks_a_drug_named_by_reference(open_client: TestClient) -> None:
    """The review's request: cabozantinib in a contained Medication, clarithromycin ordered with it."""
    cabo = _by_reference(draft_cabozantinib(60), "#med1", "cabozantinib tablet")
    cabo["contained"] = [{**MEDICATION, "id": "med1"}]
    clari = _by_reference(CLARITHROMYCIN, "Medication/med-clari")
    entries = [{"resource": cabo}, {"resource": clari}, {"resource": CLARI_MED}]
    r = _sign(open_client, entries=entries)
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    assert any("CYP3A4" in c["summary"] for c in cards)  # the bundled Medication named the inhibitor
    assert any(c.get("suggestions") for c in cards)


@needs_layers
def test_an_order_whose_drug_cannot_be_read_gets_a_not_checked_card(open_client: TestClient) -> None:
    lost = _by_reference(draft_cabozantinib(60), "Medication/nowhere")
    lost["id"] = "draft-lost"
    r = _sign(open_client, lost)
    assert r.status_code == 200, r.text
    (card,) = r.json()["cards"]
    assert card["indicator"] == "info" and "not checked" in card["summary"]
    assert "MedicationRequest/draft-lost" in card["detail"] and "Medication/nowhere" in card["detail"]
    assert "not an all-clear" in card["detail"]
    # beside a tabled agent's cards, and for order-select only when selected
    both = _sign(open_client, draft_cabozantinib(60), lost).json()["cards"]
    assert any("not checked" in c["summary"] for c in both) and len(both) > 1
    select = hook_request("order-select", prefetch_data=prefetch(), drafts=[draft_cabozantinib(60), lost])
    select["context"]["selections"] = ["MedicationRequest/draft-cabo"]
    chosen = open_client.post(OSEL, json=select).json()["cards"]
    assert chosen and not any("not checked" in c["summary"] for c in chosen)
    select["context"]["selections"] = ["MedicationRequest/draft-lost"]
    (only,) = open_client.post(OSEL, json=select).json()["cards"]
    assert "not checked" in only["summary"]


@needs_layers
def test_an_unreadable_draft_that_is_invalid_r4_is_422(open_client: TestClient) -> None:
    nothing = {k: v for k, v in draft_cabozantinib(60).items() if k != "medicationCodeableConcept"}
    r = _sign(open_client, nothing)  # medication[x] is required in R4
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == ENTRY
