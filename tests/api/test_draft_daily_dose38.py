"""Order-sign (review 38): a draft's dose is compared per day (per the labelled interval), not only per dose;
a timing netcds cannot read is said ("schedule not compared"), never passed over; a current drug recorded
only by an RxNorm code netcds does not know reaches the "not screened" notice of the order's checks."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.fhir.cards import AgentScreenView, DoseAdvice, SafetyFinding, order_cards
from tests.api.conftest import OS, RXNORM, UCUM, Keys, auth, draft_daily, hook_request, prefetch
from tests.api.test_cards import spec_ok

BASE = "http://cds.example.test"
LABEL = {
    "document": "CABOMETYX label",
    "section": "Dosage and Administration",
    "url": "https://dailymed.test/c",
}
ABOVE = ("above the labelled dose", "above the highest labelled dose")
NOT_COMPARED = "schedule not compared"


def over_label(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in cards if any(a in c["summary"] for a in ABOVE)]


def not_compared(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in cards if NOT_COMPARED in c["summary"]]


def timed(draft: dict[str, Any], timing: dict[str, Any] | None) -> dict[str, Any]:
    out = copy.deepcopy(draft)
    if timing is None:
        del out["dosageInstruction"][0]["timing"]
    else:
        out["dosageInstruction"][0]["timing"] = timing
    return out


def repeat(frequency: float, period: float, unit: str) -> dict[str, Any]:
    return {"repeat": {"frequency": frequency, "period": period, "periodUnit": unit}}


def everolimus(mg: float = 10, timing: dict[str, Any] | None = None) -> dict[str, Any]:
    return timed(draft_daily("draft-evero", "everolimus Oral Tablet [Afinitor]", mg), timing)


def cabozantinib(mg: float, timing: dict[str, Any] | None) -> dict[str, Any]:
    return timed(draft_daily("draft-cabo", "cabozantinib Oral Tablet [Cabometyx]", mg), timing)


def view(
    *,
    agent: str = "cabozantinib",
    standard_mg: float | None = 60,
    maximum_mg: float | None = 80,
    schedule: str = "orally once daily",
    adjusted: str | None = None,
    adjusted_mg: float | None = None,
    safety: tuple[SafetyFinding, ...] = (),
) -> AgentScreenView:
    rules = ["strong_cyp3a4_inhibitor: daily dose lowered by 20 mg"] if adjusted_mg else []
    return AgentScreenView(
        agent=agent,
        safety=list(safety),
        dose=DoseAdvice(
            agent=agent,
            standard="60 mg orally once daily (adults)",
            adjusted=adjusted,
            adjusted_mg=adjusted_mg,
            rules_applied=rules,
            source=LABEL,
            unit="mg",
            standard_mg=standard_mg,
            maximum_mg=maximum_mg,
            schedule=schedule,
        ),
    )


def sign(client: TestClient, keys: Keys, draft: dict[str, Any], pf: dict[str, Any] | None = None) -> Any:
    body = hook_request("order-sign", prefetch_data=pf or prefetch(), drafts=[draft])
    r = client.post(OS, json=body, headers=auth(keys, OS))
    assert r.status_code == 200, r.text
    cards: list[dict[str, Any]] = r.json()["cards"]
    for c in cards:
        assert c["summary"] and len(c["summary"]) < 140  # CDS Hooks: a summary under 140 characters
    return cards


# ---- the hook: everolimus 10 mg, once or twice daily ------------------------------------------------------
def test_everolimus_10_mg_twice_daily_is_above_the_labelled_daily_dose(
    client: TestClient, keys: Keys
) -> None:
    cards = sign(client, keys, everolimus(10, repeat(2, 1, "d")))
    (card,) = over_label(cards)
    assert card["indicator"] == "warning"
    assert "10 mg every 12 hours (20 mg per day)" in card["summary"]
    assert "(10 mg per day)" in card["summary"]
    assert "suggestions" not in card  # setting the amount with the timing kept would stay 20 mg a day
    assert "timing differs from the labelled schedule" in card["detail"]
    assert card["overrideReasons"]
    assert not not_compared(cards)


def test_everolimus_10_mg_once_daily_keeps_its_cards(client: TestClient, keys: Keys) -> None:
    cards = sign(client, keys, everolimus(10, repeat(1, 1, "d")))
    assert not over_label(cards) and not not_compared(cards)
    assert not any("suggestions" in c for c in cards)
    assert not any(c["source"].get("topic", {}).get("code") == "dose-adjustment" for c in cards)
    # the same as every 24 hours
    again = sign(client, keys, everolimus(10, repeat(1, 24, "h")))
    assert [c["summary"] for c in again] == [c["summary"] for c in cards]


@pytest.mark.parametrize(
    ("timing", "why"),
    [
        (None, "the draft states no timing"),
        ({"code": {"coding": [{"code": "BID"}]}}, "given only as a code (BID)"),
        ({"repeat": {"frequency": 1, "frequencyMax": 2, "period": 1, "periodUnit": "d"}}, "frequencyMax"),
        ({"repeat": {"frequency": 1, "periodUnit": "d"}}, "states no period"),
        ({"repeat": {"frequency": 1, "period": 1, "periodUnit": "min"}}, "period unit (min)"),
        ({"repeat": {"period": 1, "periodUnit": "d", "when": ["MORN", "EVE"]}}, "times of day"),
    ],
)
def test_a_timing_not_read_is_said_not_passed(
    client: TestClient, keys: Keys, timing: dict[str, Any] | None, why: str
) -> None:
    cards = sign(client, keys, everolimus(10, timing))
    assert not over_label(cards)
    (card,) = not_compared(cards)
    assert card["indicator"] == "info"
    assert why in card["summary"]
    assert "not an all-clear" in card["detail"] and "10 mg" in card["detail"]
    assert "AFINITOR" in card["source"]["label"]


# ---- the cards: per day and per the labelled interval ------------------------------------------------------
@pytest.mark.parametrize(
    ("mg", "timing", "above"),
    [
        (40, repeat(2, 1, "d"), True),  # 80 mg a day against 60
        (30, repeat(2, 1, "d"), False),  # 60 mg a day
        (60, repeat(1, 12, "h"), True),  # 120 mg a day
        (60, repeat(1, 2, "d"), False),  # 30 mg a day
        (60, repeat(1, 1, "d"), False),
    ],
)
def test_the_daily_total_is_compared(mg: float, timing: dict[str, Any], above: bool) -> None:
    cards = order_cards(view(), cabozantinib(mg, timing), base_url=BASE, seed="s")
    for c in cards:
        spec_ok(c)
    assert bool(over_label(cards)) is above
    assert not not_compared(cards)


def test_per_dose_above_still_says_an_unread_schedule() -> None:
    cards = order_cards(view(), cabozantinib(140, None), base_url=BASE, seed="s")
    (card,) = over_label(cards)
    assert "Schedule not compared" in card["detail"] and "no timing" in card["detail"]
    assert card["suggestions"]  # one labelled dose: setting the amount is unambiguous, as before


def test_an_interval_label_is_compared_per_its_interval() -> None:
    lanreotide = view(
        agent="lanreotide", standard_mg=120, maximum_mg=None, schedule="deep subcutaneously every 4 weeks"
    )
    every_3_weeks = cabozantinib(120, repeat(1, 3, "wk"))
    (card,) = over_label(order_cards(lanreotide, every_3_weeks, base_url=BASE, seed="s"))
    assert "160 mg per 4 weeks" in card["summary"]
    assert not over_label(
        order_cards(lanreotide, cabozantinib(120, repeat(1, 4, "wk")), base_url=BASE, seed="s")
    )
    assert not over_label(
        order_cards(lanreotide, cabozantinib(60, repeat(1, 2, "wk")), base_url=BASE, seed="s")
    )


def test_a_labelled_alternative_schedule_counts_per_day() -> None:
    pembro = view(
        agent="pembrolizumab",
        standard_mg=200,
        maximum_mg=None,
        schedule="intravenously every 3 weeks (or 400 mg every 6 weeks)",
    )
    assert not over_label(order_cards(pembro, cabozantinib(400, repeat(1, 6, "wk")), base_url=BASE, seed="s"))
    assert not over_label(order_cards(pembro, cabozantinib(200, repeat(1, 3, "wk")), base_url=BASE, seed="s"))
    (card,) = over_label(order_cards(pembro, cabozantinib(200, repeat(1, 2, "wk")), base_url=BASE, seed="s"))
    assert "300 mg per 3 weeks" in card["summary"]


def test_an_adjusted_dose_is_compared_per_day_without_an_update() -> None:
    finding = SafetyFinding(
        severity="warning",
        agent="cabozantinib",
        finding="Strong CYP3A4 inhibitor: raises cabozantinib exposure (clarithromycin)",
        source=LABEL,
        id="strong_cyp3a4_inhibitor",
        kind="adjustment",
    )
    for safety in ((finding,), ()):  # on the causing finding's card, or the stand-alone dose card
        adjusted = view(adjusted="40 mg orally once daily", adjusted_mg=40, safety=safety)
        cards = order_cards(adjusted, cabozantinib(40, repeat(2, 1, "d")), base_url=BASE, seed="s")
        (carrier,) = [c for c in cards if "80 mg per day" in c["detail"]]
        assert "above the labelled dose for this patient" in carrier["detail"]
        assert "already the adjusted dose" not in carrier["detail"]
        assert "suggestions" not in carrier and "timing differs" in carrier["detail"]
        assert "matches" not in carrier["summary"]
        # once daily at the adjusted dose stays as it was
        same = order_cards(adjusted, cabozantinib(40, repeat(1, 1, "d")), base_url=BASE, seed="s")
        assert any("already the adjusted dose" in c["detail"] for c in same)


# ---- a current drug recorded only by an RxNorm code netcds does not know ----------------------------------
def _with_statement(cc: dict[str, Any]) -> dict[str, Any]:
    pf = prefetch()
    statement = {
        "resourceType": "MedicationStatement",
        "id": "s-clari",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2025-03-01",
        "medicationCodeableConcept": cc,
    }
    pf["medicationStatements"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": statement}],
    }
    return pf


def test_a_code_only_current_drug_is_said_not_screened(client: TestClient, keys: Keys) -> None:
    pf = _with_statement({"coding": [{"system": RXNORM, "code": "21212"}]})
    cards = sign(client, keys, everolimus(10, repeat(1, 1, "d")), pf)
    (card,) = [c for c in cards if "RxNorm code 21212" in c["detail"]]
    assert "not screened: 'unidentified drug (RxNorm code 21212)'" in card["detail"]
    assert card["indicator"] == "warning"  # it could be a strong CYP3A4 inhibitor: never passed as none


def test_a_text_named_clarithromycin_keeps_its_critical_card(client: TestClient, keys: Keys) -> None:
    cards = sign(client, keys, everolimus(10, repeat(1, 1, "d")), _with_statement({"text": "clarithromycin"}))
    assert any(c["indicator"] == "critical" and "clarithromycin" in c["summary"] for c in cards)
    assert not any("unidentified drug" in c["detail"] for c in cards)


def test_ucum_doses_still_read_in_mg() -> None:
    draft = cabozantinib(60, repeat(2, 1, "d"))
    draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] = {
        "value": 0.06,
        "unit": "g",
        "system": UCUM,
        "code": "g",
    }
    (card,) = over_label(order_cards(view(), draft, base_url=BASE, seed="s"))
    assert "120 mg per day" in card["summary"]
