"""Order-sign when one part of its check fails inside netcds: the other part's cards still come back.

An order's guideline card (from the record's Evaluation) and its safety and dose cards (from the agent's
screen) are independent. A fault in one (a RuleError from the engine, a bug in the screen) must not hide
the other: the failed part gets a card saying it was not done, with an error id that is logged with the
exception type only (never its message, which could quote the record); nothing is cached, so the next
call tries again.
"""

from __future__ import annotations

import logging
from importlib.util import find_spec
from typing import Any, NoReturn

import pytest
from fastapi.testclient import TestClient

from netcds.api import optional
from netcds.errors import RuleError
from tests.api.conftest import CLARITHROMYCIN, OS, draft_cabozantinib, hook_request, prefetch

SECRET = "ki67-value-7.3-from-the-record"  # in the exception's message: must never reach a log or a card
pytestmark = [
    pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping absent"),
    pytest.mark.skipif(find_spec("netcds.safety") is None, reason="safety layer absent"),
]


def boom(*_: Any, **__: Any) -> NoReturn:
    raise RuleError("gi.everolimus", "gi_wd_g12/main", ValueError(SECRET))


def order(client: TestClient) -> list[dict[str, Any]]:
    body = hook_request("order-sign", prefetch_data=prefetch([CLARITHROMYCIN]), drafts=[draft_cabozantinib()])
    r = client.post(OS, json=body)
    assert r.status_code == 200, r.text
    cards: list[dict[str, Any]] = r.json()["cards"]
    return cards


def topic(card: dict[str, Any]) -> str:
    return str(card["source"]["topic"]["code"])


def summaries(cards: list[dict[str, Any]], *, guideline: bool) -> list[str]:
    return [c["summary"] for c in cards if (topic(c) == "therapy-options") == guideline]


def test_a_failed_guideline_check_keeps_the_safety_cards_and_says_it_was_not_done(
    open_client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with monkeypatch.context() as m, caplog.at_level(logging.ERROR, logger="netcds.api"):
        m.setattr("netcds.api.order_hooks.guideline_facts", boom)
        degraded = order(open_client)
    unchecked = [c for c in degraded if topic(c) == "therapy-options"]
    assert len(unchecked) == 1
    card = unchecked[0]
    assert card["indicator"] == "info"
    assert card["summary"].startswith("Cabozantinib: guideline listing not checked (internal error ")
    error_id = card["summary"].rsplit(" ", 1)[1].rstrip(")")
    assert "says nothing about whether cabozantinib is among this patient's options" in card["detail"]
    # what the knowledge itself says (no evaluation needed): the tables that list cabozantinib
    assert "GI WD G1/2 table" in card["detail"] and "pancreas WD G1/2 table" in card["detail"]
    assert SECRET not in str(degraded)
    logged = [r.getMessage() for r in caplog.records]
    assert any(f"id={error_id} part=guideline" in msg and "type=RuleError" in msg for msg in logged)
    assert SECRET not in "\n".join(logged)
    # the strong CYP3A4 inhibitor's warning and the dose card are there, as without the fault
    normal = order(open_client)  # the fault was not cached: this call checks the guideline
    assert summaries(degraded, guideline=False) == summaries(normal, guideline=False)
    assert any("CYP3A4" in s for s in summaries(normal, guideline=False))
    assert summaries(normal, guideline=True)[0].startswith("Cabozantinib: listed for this patient")


def test_a_failed_safety_screen_keeps_the_guideline_card_and_is_not_an_all_clear(
    open_client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with monkeypatch.context() as m, caplog.at_level(logging.ERROR, logger="netcds.api"):
        m.setattr(optional, "screen", boom)
        degraded = order(open_client)
    safety = [c for c in degraded if topic(c) != "therapy-options"]
    assert len(safety) == 1  # no dose or interaction card is made up without the screen
    assert "could not run its safety screen (an internal error occurred (id " in safety[0]["summary"]
    assert "This is not an all-clear." in safety[0]["detail"]
    assert any("part=safety screen" in r.getMessage() for r in caplog.records)
    normal = order(open_client)
    assert summaries(degraded, guideline=True) == summaries(normal, guideline=True)
    assert len([c for c in normal if topic(c) != "therapy-options"]) > 1  # the screen ran this time
