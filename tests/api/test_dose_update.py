"""The ``update`` suggestion of a dose card: offered only to a draft that can take it, valid FHIR R4 when it
is, the sig left to the prescriber; otherwise the dose in words and why no update is offered."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.fhir.cards import draft_dose_mg, order_cards, with_dose
from netcds.fhir.draft_dose import no_update_reason
from netcds.fhir.read import validate_resource
from tests.api.conftest import (
    CLARITHROMYCIN,
    RXNORM,
    UCUM,
    draft_cabozantinib,
    hook_request,
    prefetch,
)
from tests.api.test_card_markup import BASE, OS
from tests.api.test_card_markup import needs_layers as needs_safety
from tests.api.test_cards import _screen, spec_ok

SIXTY_MG_TABLET = "cabozantinib 60 MG Oral Tablet [Cabometyx]"
NO_UPDATE = "**No order update offered:**"


def _carrier(cards: list[dict[str, Any]]) -> dict[str, Any]:
    """The card carrying the adjusted dose (the clarithromycin finding's)."""
    (card,) = [c for c in cards if "**Label-based dose for this patient:**" in c["detail"]]
    return card


def _action(card: dict[str, Any]) -> dict[str, Any]:
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    found: dict[str, Any] = action
    return found


def _dose_range(draft: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(draft)
    mg = {"unit": "mg", "system": UCUM, "code": "mg"}
    out["dosageInstruction"][0]["doseAndRate"] = [
        {"doseRange": {"low": {"value": 40, **mg}, "high": {"value": 60, **mg}}}
    ]
    return out


def _tablets(draft: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(draft)
    out["dosageInstruction"][0]["doseAndRate"] = [
        {"doseQuantity": {"value": 1, "unit": "tablet", "system": UCUM, "code": "{tbl}"}}
    ]
    out["dispenseRequest"] = {"quantity": {"value": 30, "unit": "tablet", "system": UCUM, "code": "{tbl}"}}
    return out


# --- the update itself --------------------------------------------------------------------------------------
def test_the_update_is_valid_r4_and_leaves_the_sig_to_the_prescriber() -> None:
    draft = draft_cabozantinib(60)  # sig text "60 mg by mouth once daily"
    draft["dosageInstruction"][0]["patientInstruction"] = "Take one tablet (60 mg) a day"
    card = _carrier(order_cards(_screen(), draft, base_url=BASE, seed="s"))
    spec_ok(card)
    action = _action(card)
    resource = action["resource"]
    assert resource["id"] == "draft-cabo" and draft_dose_mg(resource) == 40
    (instruction,) = resource["dosageInstruction"]
    # the old dose is nowhere in the order the client would sign
    assert "text" not in instruction and "patientInstruction" not in instruction
    assert "60" not in str(instruction) and "was:" not in str(resource)
    assert "free-text dosage instructions are left out" in action["description"]
    validate_resource(resource, "update")  # FHIR R4 (fhir.resources R4B, as netcds reads its input)


def test_setting_a_dose_replaces_every_dose_choice() -> None:
    """dose[x] is a choice element: a doseRange next to the new doseQuantity would be invalid R4."""
    updated = with_dose(_dose_range(draft_cabozantinib(60)), 40)
    (rate,) = updated["dosageInstruction"][0]["doseAndRate"]
    assert set(rate) == {"doseQuantity"} and rate["doseQuantity"]["value"] == 40
    validate_resource(updated, "update")


# --- drafts that cannot take an update: words only -------------------------------------------------------
@pytest.mark.parametrize(
    ("draft", "reason"),
    [
        (_dose_range(draft_cabozantinib(60)), "does not state its dose as one amount in mg"),
        (_tablets(draft_cabozantinib(60)), "does not state its dose as one amount in mg"),
        ({k: v for k, v in draft_cabozantinib(60).items() if k != "id"}, "has no id"),
        (draft_cabozantinib(60, SIXTY_MG_TABLET), "states a strength of 60 mg"),
    ],
    ids=["dose-range", "tablets", "no-id", "60-mg-tablet"],
)
def test_a_draft_that_cannot_take_the_dose_gets_it_in_words_without_update(
    draft: dict[str, Any], reason: str
) -> None:
    cards = order_cards(_screen(), draft, base_url=BASE, seed="s")
    card = _carrier(cards)
    spec_ok(card)
    assert not any("suggestions" in c for c in cards)
    assert card["indicator"] == "warning" and card["overrideReasons"]
    assert "**Label-based dose for this patient:** 40 mg" in card["detail"]
    (line,) = [x for x in card["detail"].split("\n\n") if x.startswith(NO_UPDATE)]
    assert reason in line


def test_a_stand_alone_dose_card_without_update_still_warns() -> None:
    """The dose card's summary and indicator follow the draft's dose, not whether an update is offered."""
    screen = _screen()
    screen = screen.model_copy(update={"safety": [f for f in screen.safety if f.severity == "info"]})
    (card, *_) = order_cards(screen, draft_cabozantinib(60, SIXTY_MG_TABLET), base_url=BASE, seed="s")
    assert card["source"]["topic"]["code"] == "dose-adjustment" and "suggestions" not in card
    assert card["indicator"] == "warning" and "is 40 mg (adjusted)" in card["summary"]
    assert "matches" not in card["summary"] and NO_UPDATE in card["detail"]


def test_a_referenced_medication_states_the_strength() -> None:
    draft = draft_cabozantinib(60)
    del draft["medicationCodeableConcept"]
    draft["contained"] = [
        {
            "resourceType": "Medication",
            "id": "cabo",
            "code": {"coding": [{"system": RXNORM, "display": "cabozantinib Oral Tablet"}]},
            "ingredient": [
                {
                    "itemCodeableConcept": {"text": "cabozantinib"},
                    "strength": {
                        "numerator": {"value": 60, "unit": "mg", "system": UCUM, "code": "mg"},
                        "denominator": {"value": 1, "unit": "tablet", "system": UCUM, "code": "{tbl}"},
                    },
                }
            ],
        }
    ]
    draft["medicationReference"] = {"reference": "#cabo"}
    assert no_update_reason(draft, 40) is not None and "60 mg" in str(no_update_reason(draft, 40))
    assert no_update_reason(draft, 60) is None
    cards = order_cards(_screen(), draft, base_url=BASE, seed="s")
    assert not any("suggestions" in c for c in cards)


def test_a_concentration_is_no_strength_against_the_dose() -> None:
    """A solution's dose is its volume: "25 MG/ML" does not stand against any mg dose."""
    draft = draft_cabozantinib(60, "pembrolizumab 25 MG/ML Injectable Solution")
    assert no_update_reason(draft, 40) is None
    assert no_update_reason(draft_cabozantinib(60, "cabozantinib 40 MG Oral Tablet"), 40) is None


# --- through order-sign (the review's requests) ----------------------------------------------------------
@needs_safety
@pytest.mark.parametrize(
    ("draft", "reason"),
    [
        (draft_cabozantinib(60, SIXTY_MG_TABLET), "states a strength of 60 mg"),
        (_tablets(draft_cabozantinib(60, "cabozantinib 40 MG Oral Tablet")), "one amount in mg"),
        (_dose_range(draft_cabozantinib(60)), "one amount in mg"),
        ({k: v for k, v in draft_cabozantinib(60).items() if k != "id"}, "has no id"),
    ],
    ids=["60-mg-tablet", "tablets", "dose-range", "no-id"],
)
def test_order_sign_offers_no_update_a_client_could_misapply(
    open_client: TestClient, draft: dict[str, Any], reason: str
) -> None:
    body = hook_request("order-sign", prefetch_data=prefetch([CLARITHROMYCIN]), drafts=[draft])
    r = open_client.post(OS, json=body)
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    assert not any("suggestions" in c for c in cards)
    card = _carrier(cards)
    assert "40 mg" in card["detail"] and reason in card["detail"]


@needs_safety
def test_order_sign_update_for_a_draft_that_can_take_it(open_client: TestClient) -> None:
    draft = draft_cabozantinib(60)
    body = hook_request("order-sign", prefetch_data=prefetch([CLARITHROMYCIN]), drafts=[draft])
    cards = open_client.post(OS, json=body).json()["cards"]
    action = _action(_carrier(cards))
    assert action["resource"]["id"] == "draft-cabo" and draft_dose_mg(action["resource"]) == 40
    assert "was:" not in str(action["resource"]) and "text" not in action["resource"]["dosageInstruction"][0]
    assert uuid.UUID(_carrier(cards)["suggestions"][0]["uuid"])
