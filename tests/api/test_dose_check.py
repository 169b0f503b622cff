"""Order-sign / order-select: a draft dose above the monograph's dose for this patient gets one warning."""

from __future__ import annotations

import copy
from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.fhir.cards import AgentScreenView, DoseAdvice, SafetyFinding, draft_dose_mg, order_cards
from tests.api.conftest import (
    CLARITHROMYCIN,
    OS,
    RXNORM,
    UCUM,
    Keys,
    auth,
    draft_cabozantinib,
    hook_request,
    prefetch,
)
from tests.api.test_cards import spec_ok

BASE = "http://cds.example.test"
LABEL = {
    "document": "CABOMETYX label",
    "section": "Dosage and Administration",
    "url": "https://dailymed.test/cabo",
}
ABOVE = ("above the labelled dose", "above the highest labelled dose")


def _view(
    *,
    agent: str = "cabozantinib",
    adjusted: str | None = None,
    adjusted_mg: float | None = None,
    safety: tuple[SafetyFinding, ...] = (),
    standard_mg: float | None = 60,
    maximum_mg: float | None = 80,
    schedule: str | None = "orally once daily",
    rules: list[str] | None = None,
) -> AgentScreenView:
    default_rules = ["strong_cyp3a4_inhibitor: daily dose lowered by 20 mg"] if adjusted_mg else []
    return AgentScreenView(
        agent=agent,
        safety=list(safety),
        dose=DoseAdvice(
            agent=agent,
            standard="60 mg orally once daily (adults)",
            adjusted=adjusted,
            adjusted_mg=adjusted_mg,
            rules_applied=default_rules if rules is None else rules,
            source=LABEL,
            unit="mg",
            standard_mg=standard_mg,
            maximum_mg=maximum_mg,
            schedule=schedule,
        ),
    )


def _with_timing(draft: dict[str, Any], **repeat: Any) -> dict[str, Any]:
    out = copy.deepcopy(draft)
    if repeat:
        out["dosageInstruction"][0]["timing"] = {"repeat": repeat}
    else:
        del out["dosageInstruction"][0]["timing"]
    return out


def _pembrolizumab(mg: float, every_weeks: int | None) -> dict[str, Any]:
    draft = {
        "resourceType": "MedicationRequest",
        "id": "draft-pembro",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "display": "pembrolizumab 25 MG/ML"}]},
        "dosageInstruction": [
            {"doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}}]}
        ],
    }
    if every_weeks:
        draft["dosageInstruction"][0]["timing"] = {
            "repeat": {"frequency": 1, "period": every_weeks, "periodUnit": "wk"}
        }
    return draft


def over_label(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in cards if any(a in c["summary"] for a in ABOVE)]


def suggested_mg(card: dict[str, Any]) -> float | None:
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    return draft_dose_mg(action["resource"])


def test_over_label_draft_gets_one_warning_with_the_labelled_dose() -> None:
    draft = draft_cabozantinib(140)
    cards = order_cards(_view(), draft, base_url=BASE, seed="s")
    for c in cards:
        spec_ok(c)
    (card,) = over_label(cards)
    assert card["indicator"] == "warning"
    assert "140 mg" in card["summary"] and "60 mg" in card["summary"]
    assert card["source"]["url"] == LABEL["url"]  # the monograph's dose source
    assert "CABOMETYX label" in card["source"]["label"] and "CABOMETYX label" in card["detail"]
    assert suggested_mg(card) == 60
    action = card["suggestions"][0]["actions"][0]
    assert action["resource"]["id"] == "draft-cabo"
    assert action["resource"]["dosageInstruction"][0]["timing"] == draft["dosageInstruction"][0]["timing"]
    assert card["selectionBehavior"] == "at-most-one"
    assert {r["code"] for r in card["overrideReasons"]} >= {"benefit-outweighs-risk"}
    assert len([c for c in cards if "suggestions" in c]) == 1


@pytest.mark.parametrize("mg", [60, 40, 20])
def test_draft_at_or_below_the_labelled_dose_gets_no_dose_card(mg: float) -> None:
    cards = order_cards(_view(), draft_cabozantinib(mg), base_url=BASE, seed="s")
    assert not over_label(cards)
    assert not any("suggestions" in c for c in cards)


def test_over_label_with_an_adjustment_is_said_once_on_the_adjustment_card() -> None:
    finding = SafetyFinding(
        severity="warning",
        agent="cabozantinib",
        finding="Strong CYP3A4 inhibitor: raises cabozantinib exposure (clarithromycin)",
        source=LABEL,
        id="strong_cyp3a4_inhibitor",
        kind="adjustment",
    )
    for safety in ((finding,), ()):  # carried by the causing finding, or by the stand-alone dose card
        view = _view(adjusted="40 mg orally once daily", adjusted_mg=40, safety=safety)
        cards = order_cards(view, draft_cabozantinib(140), base_url=BASE, seed="s")
        assert not over_label(cards)
        (carrier,) = [c for c in cards if "suggestions" in c]
        assert suggested_mg(carrier) == 40
        assert "140 mg, above the labelled dose for this patient" in carrier["detail"]


def test_agent_without_a_monograph_dose_gets_no_check() -> None:
    view = _view(standard_mg=None, maximum_mg=None, schedule="orally twice daily, per regimen protocol")
    cards = order_cards(view, draft_cabozantinib(5000), base_url=BASE, seed="s")
    assert not over_label(cards)
    assert not any("suggestions" in c for c in cards)


def test_a_labelled_alternative_schedule_is_not_over_label() -> None:
    view = _view(
        agent="pembrolizumab",
        standard_mg=200,
        maximum_mg=None,
        schedule="intravenously every 3 weeks (or 400 mg every 6 weeks)",
    )
    assert not over_label(order_cards(view, _pembrolizumab(400, 6), base_url=BASE, seed="s"))
    assert not over_label(order_cards(view, _pembrolizumab(200, 3), base_url=BASE, seed="s"))
    (card,) = over_label(order_cards(view, _pembrolizumab(400, 3), base_url=BASE, seed="s"))
    assert suggested_mg(card) == 200
    (card,) = over_label(order_cards(view, _pembrolizumab(600, 6), base_url=BASE, seed="s"))
    assert suggested_mg(card) == 400
    # timing not stated: above the usual dose, but which labelled dose applies is unknown: no suggestion
    (card,) = over_label(order_cards(view, _pembrolizumab(400, None), base_url=BASE, seed="s"))
    assert "suggestions" not in card and "400 mg every 6 weeks" in card["detail"]


def test_another_schedule_than_the_label_warns_without_suggestion() -> None:
    twice_daily = _with_timing(draft_cabozantinib(140), frequency=2, period=1, periodUnit="d")
    (card,) = over_label(order_cards(_view(), twice_daily, base_url=BASE, seed="s"))
    assert card["indicator"] == "warning" and "suggestions" not in card
    no_timing = _with_timing(draft_cabozantinib(140))
    (card,) = over_label(order_cards(_view(), no_timing, base_url=BASE, seed="s"))
    assert suggested_mg(card) == 60  # a single labelled dose: setting the amount is unambiguous


def test_dose_not_determined_is_checked_against_the_labelled_maximum() -> None:
    view = _view(adjusted="not determined until recorded: weight_kg")
    (card,) = over_label(order_cards(view, draft_cabozantinib(140), base_url=BASE, seed="s"))
    assert "highest labelled dose (80 mg)" in card["summary"]
    assert card["indicator"] == "warning" and "suggestions" not in card
    assert not over_label(order_cards(view, draft_cabozantinib(80), base_url=BASE, seed="s"))


def test_an_adjustment_without_a_mg_dose_is_said_on_its_finding_card_without_over_label_check() -> None:
    # the over-label check runs only when no adjustment applies: an applied rule that gives no mg amount
    # (avoid) is said on its finding's card (one finding, one card), which also compares the draft with the
    # highest labelled dose
    finding = SafetyFinding(
        severity="critical",
        agent="cabozantinib",
        finding="Severe hepatic impairment (Child-Pugh C): the label says to avoid cabozantinib",
        source=LABEL,
        id="hepatic_severe",
        kind="adjustment",
    )
    avoid = "avoid: no labelled dose in severe hepatic impairment (the label advises avoiding it)"
    view = _view(adjusted=avoid, safety=(finding,), rules=[f"hepatic_severe: {avoid[7:]}"])
    cards = order_cards(view, draft_cabozantinib(140), base_url=BASE, seed="s")
    for c in cards:
        spec_ok(c)
    assert not over_label(cards)  # no second card about the same dose
    assert not any("suggestions" in c for c in cards)
    assert not [c for c in cards if c["summary"].startswith("Cabozantinib dose:")]  # no dose card of its own
    (critical,) = cards
    assert critical["indicator"] == "critical"
    dose = "**Label-based dose for this patient:** no labelled dose in severe hepatic impairment"
    assert dose in critical["detail"]
    assert "140 mg, above the highest labelled dose (80 mg)" in critical["detail"]
    assert "**Dose source:** CABOMETYX label" in critical["detail"]  # the rule's own source
    assert "No dose change suggested" in critical["detail"]


# --- through the order-sign service, with the real monograph ------------------------------------------
needs_layers = pytest.mark.skipif(
    find_spec("netcds.fhir.mcode") is None or find_spec("netcds.safety") is None,
    reason="FHIR mapping or safety layer not present",
)


@needs_layers
def test_order_sign_cabozantinib_140_mg_gets_the_over_label_warning(client: TestClient, keys: Keys) -> None:
    body = hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft_cabozantinib(140)])
    r = client.post(OS, json=body, headers=auth(keys, OS))
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    (card,) = over_label(cards)
    assert card["indicator"] == "warning"
    assert "Cabozantinib" in card["summary"] and "140 mg" in card["summary"]
    mono = client.get("/api/v1/agents/cabozantinib").json()
    assert card["source"]["url"] == mono["sources"]["label"]["url"]  # the monograph's dose source
    assert mono["dose"]["source"]["section"] in card["detail"]
    assert suggested_mg(card) == mono["dose"]["amount"] == 60
    assert len([c for c in cards if "suggestions" in c]) == 1
    # the labelled dose itself: nothing to say about the dose
    body = hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft_cabozantinib(60)])
    cards = client.post(OS, json=body, headers=auth(keys, OS)).json()["cards"]
    assert not over_label(cards) and not any("suggestions" in c for c in cards)


@needs_layers
def test_order_sign_over_label_with_an_interaction_is_one_card(client: TestClient, keys: Keys) -> None:
    body = hook_request(
        "order-sign", prefetch_data=prefetch([CLARITHROMYCIN]), drafts=[draft_cabozantinib(140)]
    )
    cards = client.post(OS, json=body, headers=auth(keys, OS)).json()["cards"]
    assert not over_label(cards)
    (carrier,) = [c for c in cards if "suggestions" in c]
    assert "CYP3A4" in carrier["summary"] and suggested_mg(carrier) == 40


RIFAMPIN = {
    **CLARITHROMYCIN,
    "id": "m-rif",
    "medicationCodeableConcept": {
        "coding": [{"system": RXNORM, "display": "rifampin 300 MG Oral Capsule"}],
        "text": "rifampin 300 mg capsule",
    },
}


@needs_layers
@pytest.mark.parametrize("mg", [60, 100])
def test_order_sign_inhibitor_with_inducer_says_the_dose_is_not_determined(
    client: TestClient, keys: Keys, mg: float
) -> None:
    # QA e7: with a strong CYP3A4 inhibitor and an inducer the label gives no dose; the card must not show
    # the net of the two rules (60 mg) nor offer to set any dose
    drafts = [draft_cabozantinib(mg)]
    body = hook_request("order-sign", prefetch_data=prefetch([CLARITHROMYCIN, RIFAMPIN]), drafts=drafts)
    r = client.post(OS, json=body, headers=auth(keys, OS))
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    assert not any("suggestions" in c for c in cards)
    assert not over_label(cards)
    (dose,) = [c for c in cards if c["summary"].startswith("Cabozantinib dose: not determined")]
    assert dose["indicator"] == "warning"
    first = dose["detail"].split("\n\n")[0].split(" (standard: ")[0]  # the dose for this patient
    assert "not determined: the label gives no dose for strong CYP3A4 inhibitor together with" in first
    assert "each rule's dose applies only without the other" in first
    assert not any(f"{n} mg" in first for n in (20, 40, 60, 80))
    rules = next(line for line in dose["detail"].split("\n\n") if line.startswith("**Rule sources:**"))
    # each rule named by its situation, not its id
    assert "Strong CYP3A4 inhibitor: CABOMETYX" in rules and "Strong or moderate CYP3A4 inducer: " in rules
    assert "cyp3a4" not in rules
    above = "above the highest labelled dose (80 mg)"
    assert (above in dose["detail"]) == (mg > 80)
