"""CDS Hooks feedback names cards the service returned: unknown cards, another service's cards and
suggestions a card never carried are refused (422, nothing stored); issued cards outlive a restart."""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.settings import Settings
from netcds.store import Store
from tests.api.conftest import (
    CLARITHROMYCIN,
    OS,
    PV,
    Keys,
    auth,
    draft_cabozantinib,
    hook_request,
    prefetch,
)

UNKNOWN = "0b1e7a52-8d4c-5f0e-9a57-2f4a1c6f9e11"
needs_mapping = pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping absent")
needs_safety = pytest.mark.skipif(find_spec("netcds.safety") is None, reason="safety layer absent")


def _store(client: TestClient) -> Store:
    store: Store = client.app.state.netcds.store  # type: ignore[attr-defined]
    return store


def overridden(card: str) -> dict[str, Any]:
    return {"card": card, "outcome": "overridden", "outcomeTimestamp": "2025-03-02T10:15:00Z"}


def accepted(card: str, suggestion: str) -> dict[str, Any]:
    return {
        "card": card,
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": suggestion}],
        "outcomeTimestamp": "2025-03-02T10:15:00Z",
    }


def send(client: TestClient, keys: Keys, service: str, *items: dict[str, Any]) -> httpx.Response:
    path = service + "/feedback"
    return client.post(path, json={"feedback": list(items)}, headers=auth(keys, path))


def hook(client: TestClient, keys: Keys, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = client.post(path, json=body, headers=auth(keys, path))
    assert r.status_code == 200, r.text
    cards: list[dict[str, Any]] = r.json()["cards"]
    assert cards
    return cards


def refused(r: httpx.Response, *fields: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == list(fields)


def nothing_stored(client: TestClient) -> None:
    assert _store(client).feedback() == []
    assert _store(client).audit_log(action="hooks.feedback") == []


def test_feedback_on_a_card_never_issued_is_422_and_nothing_is_stored(client: TestClient, keys: Keys) -> None:
    refused(send(client, keys, OS, overridden(UNKNOWN)), "feedback[0].card")
    nothing_stored(client)


def test_one_unknown_card_refuses_the_whole_request(client: TestClient, keys: Keys) -> None:
    issued = "5d9f4c3e-1b2a-5c6d-8e7f-0a1b2c3d4e5f"
    _store(client).record_issued_cards("netcds-order-sign", [(issued, [])])
    refused(send(client, keys, OS, overridden(issued), overridden(UNKNOWN)), "feedback[1].card")
    nothing_stored(client)
    assert send(client, keys, OS, overridden(issued)).json() == {"stored": 1}


def test_a_suggestion_the_card_did_not_carry_is_422(client: TestClient, keys: Keys) -> None:
    card, suggestion = "5d9f4c3e-1b2a-5c6d-8e7f-0a1b2c3d4e5f", "6e0a5d4f-2c3b-5d7e-9f80-1b2c3d4e5f60"
    _store(client).record_issued_cards("netcds-order-sign", [(card, [suggestion])])
    refused(send(client, keys, OS, accepted(card, UNKNOWN)), "feedback[0].acceptedSuggestions[0].id")
    nothing_stored(client)
    assert send(client, keys, OS, accepted(card, suggestion.upper())).json() == {"stored": 1}


@needs_mapping
def test_feedback_on_an_issued_card_is_stored(client: TestClient, keys: Keys) -> None:
    cards = hook(client, keys, PV, hook_request("patient-view", prefetch_data=prefetch()))
    r = send(client, keys, PV, overridden(cards[0]["uuid"]), overridden(cards[0]["uuid"].upper()))
    assert r.status_code == 200, r.text
    assert r.json() == {"stored": 2}  # the same card may be reported again (CDS Hooks 2.0)
    assert [f.service_id for f in _store(client).feedback()] == ["netcds-patient-view"] * 2


@needs_mapping
def test_a_card_of_another_service_is_422(client: TestClient, keys: Keys) -> None:
    cards = hook(client, keys, PV, hook_request("patient-view", prefetch_data=prefetch()))
    refused(send(client, keys, OS, overridden(cards[0]["uuid"])), "feedback[0].card")
    nothing_stored(client)


@needs_mapping
@needs_safety
def test_order_sign_cards_and_their_suggestions_are_recorded(client: TestClient, keys: Keys) -> None:
    body = hook_request(
        "order-sign", prefetch_data=prefetch([CLARITHROMYCIN]), drafts=[draft_cabozantinib(60)]
    )
    cards = hook(client, keys, OS, body)
    card = next(c for c in cards if c.get("suggestions"))
    other = next(c for c in cards if c["uuid"] != card["uuid"])
    suggestion = card["suggestions"][0]["uuid"]
    refused(
        send(client, keys, OS, accepted(other["uuid"], suggestion)), "feedback[0].acceptedSuggestions[0].id"
    )
    refused(send(client, keys, PV, accepted(card["uuid"], suggestion)), "feedback[0].card")
    nothing_stored(client)
    assert send(client, keys, OS, accepted(card["uuid"], suggestion)).json() == {"stored": 1}


@needs_mapping
def test_issued_cards_outlive_a_restart(settings: Settings, keys: Keys) -> None:
    with TestClient(create_app(settings), raise_server_exceptions=False) as first:
        cards = hook(first, keys, PV, hook_request("patient-view", prefetch_data=prefetch()))
    with TestClient(create_app(settings), raise_server_exceptions=False) as again:  # same database
        r = send(again, keys, PV, overridden(cards[-1]["uuid"]))
        assert r.status_code == 200, r.text
        refused(send(again, keys, PV, overridden(UNKNOWN)), "feedback[0].card")


@needs_mapping
def test_cards_are_recorded_without_stored_evaluations(tmp_path: Any, keys: Keys) -> None:
    from tests.api.conftest import make_settings

    settings = make_settings(tmp_path, keys, hooks_persist_evaluations=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        cards = hook(client, keys, PV, hook_request("patient-view", prefetch_data=prefetch()))
        assert _store(client).count_evaluations() == 0
        assert send(client, keys, PV, overridden(cards[0]["uuid"])).json() == {"stored": 1}


@pytest.mark.parametrize(
    "stamp",
    [
        "2025-13-45T99:99:00Z",  # no such month, day, hour or minute
        "2025-02-30T10:15:00Z",  # no such day
        "2025-03-02T24:00:00Z",
        "2025-03-02T10:60:00+01:00",
        "2025-03-02T10:15:00+24:00",  # no such offset
    ],
)
def test_an_impossible_outcome_timestamp_is_422(client: TestClient, keys: Keys, stamp: str) -> None:
    issued = "5d9f4c3e-1b2a-5c6d-8e7f-0a1b2c3d4e5f"
    _store(client).record_issued_cards("netcds-order-sign", [(issued, [])])
    refused(
        send(client, keys, OS, {**overridden(issued), "outcomeTimestamp": stamp}),
        "feedback[0].outcomeTimestamp",
    )
    nothing_stored(client)
    for fine in ("2024-02-29T23:59:59.123456789-05:00", "2025-03-02T10:15Z"):
        assert send(client, keys, OS, {**overridden(issued), "outcomeTimestamp": fine}).status_code == 200
