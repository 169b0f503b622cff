"""Order-sign / order-select: a current medication of the record whose drug cannot be identified (QA session 42,
M1). A medicationReference with no display naming no Medication the record holds, or a code netcds does not
know with no drug name, may be any drug, a NET agent among them: the ordered drug was not screened against it,
and one info card says so (naming the record and what could not be read), never silence."""

from __future__ import annotations

import copy
from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.fhir.mcode import prefetch_to_patient
from tests.api.conftest import OS, RXNORM, draft_cabozantinib
from tests.api.test_order_guideline_card import call
from tests.api.test_order_interactions import CABOZANTINIB, CLARITHROMYCIN_DRAFT, record

pytestmark = [
    pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping absent"),
    pytest.mark.skipif(find_spec("netcds.safety") is None, reason="safety layer absent"),
]

BY_REFERENCE = {
    "resourceType": "MedicationRequest",
    "id": "m-ref",
    "status": "active",
    "intent": "order",
    "subject": {"reference": "Patient/p1"},
    "authoredOn": "2025-01-10",
    "medicationReference": {"reference": "Medication/med-9"},  # no display, Medication not in the record
}
BY_UNKNOWN_CODE = {
    "resourceType": "MedicationStatement",
    "id": "ms-code",
    "status": "active",
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2025-01-10",
    "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "99999999"}]},
}


def unidentified(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in cards if "not identified" in c["summary"]]


def test_an_unreadable_current_medication_is_named_as_not_screened_against_the_order(
    open_client: TestClient,
) -> None:
    cards = call(open_client, OS, record([BY_REFERENCE]), CLARITHROMYCIN_DRAFT)
    (card,) = unidentified(cards)
    assert card["indicator"] == "info"
    assert (
        card["summary"]
        == "Current medication not identified: not screened against the ordered clarithromycin"
    )
    assert "MedicationRequest/m-ref" in card["detail"] and "Medication/med-9" in card["detail"]
    assert "has no display" in card["detail"] and "not an all-clear" in card["detail"]
    assert card["source"]["label"] == "netcds order check"
    assert card["source"]["topic"]["code"] == "drug-safety"
    again = call(open_client, OS, record([BY_REFERENCE]), CLARITHROMYCIN_DRAFT)
    assert unidentified(again) == [card]  # deterministic, uuid included


def test_beside_a_current_agent_both_the_interaction_and_the_unread_medication_are_said(
    open_client: TestClient,
) -> None:
    cards = call(open_client, OS, record([CABOZANTINIB, BY_REFERENCE, BY_UNKNOWN_CODE]), CLARITHROMYCIN_DRAFT)
    assert any(c["summary"].startswith("Clarithromycin order with current cabozantinib") for c in cards)
    (card,) = unidentified(cards)
    assert card["summary"].startswith("2 current medications not identified")
    assert "MedicationStatement/ms-code" in card["detail"] and "RxNorm code 99999999" in card["detail"]


def test_an_ordered_agent_is_not_screened_against_it_either(open_client: TestClient) -> None:
    (card,) = unidentified(call(open_client, OS, record([BY_REFERENCE]), draft_cabozantinib()))
    assert card["summary"].endswith("not screened against the ordered cabozantinib")


def test_no_card_when_every_current_drug_was_read_or_the_unread_one_is_not_current(
    open_client: TestClient,
) -> None:
    assert unidentified(call(open_client, OS, record([CABOZANTINIB]), CLARITHROMYCIN_DRAFT)) == []
    stopped = {**copy.deepcopy(BY_REFERENCE), "status": "stopped"}
    assert call(open_client, OS, record([stopped]), CLARITHROMYCIN_DRAFT) == []


def test_the_mapping_report_lists_them() -> None:
    _, report = prefetch_to_patient(record([BY_REFERENCE, BY_UNKNOWN_CODE]))
    assert report.medications_not_identified == [
        "MedicationRequest/m-ref: its medicationReference (Medication/med-9) has no display, and no "
        "Medication in the record states the drug",
        "MedicationStatement/ms-code: RxNorm code 99999999, a code netcds does not know, no drug name",
    ]


def test_an_ordered_agent_leaves_a_code_only_drug_to_its_own_screen(open_client: TestClient) -> None:
    """A drug kept as "unidentified drug (RxNorm code ...)" is reported by the ordered agent's own safety
    screen as not screened (tests/api/test_draft_daily_dose38.py): not named twice."""
    cards = call(open_client, OS, record([BY_UNKNOWN_CODE]), draft_cabozantinib())
    assert unidentified(cards) == []
    assert any("unidentified drug (RxNorm code 99999999)" in c["detail"] for c in cards)
    (card,) = unidentified(
        call(open_client, OS, record([BY_REFERENCE, BY_UNKNOWN_CODE]), draft_cabozantinib())
    )
    assert "MedicationRequest/m-ref" in card["detail"] and "ms-code" not in card["detail"]
