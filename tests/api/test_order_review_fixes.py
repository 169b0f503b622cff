"""Order hooks after review: order-select finds a draft however ``context.selections`` names it (and refuses a
selection that names no draft), a draft's dose in g / ug / mcg is compared as mg, a string where FHIR needs a
number is a 422, a dose whose unit netcds cannot read is said on a card, and the same draft twice gives each
card once."""

from __future__ import annotations

import copy
from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api.orders import draft_medications
from netcds.fhir.draft_dose import dose_not_read, draft_dose_mg
from tests.api.conftest import OS, OSEL, UCUM, draft_cabozantinib, draft_daily, hook_request, prefetch
from tests.api.test_order_interactions import CABOZANTINIB, CLARITHROMYCIN_DRAFT, concomitant, record

needs_layers = pytest.mark.skipif(
    find_spec("netcds.safety") is None or find_spec("netcds.fhir.mcode") is None, reason="layers absent"
)
QUANTITY = "context.draftOrders.entry[0].resource.dosageInstruction[0].doseAndRate[0].doseQuantity"
ABOVE = "above the labelled dose"


def _select(
    drafts: list[dict[str, Any]],
    selections: list[str],
    full_urls: list[str | None] | None = None,
    pf: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body = hook_request("order-select", prefetch_data=pf or prefetch(), drafts=drafts)
    for entry, url in zip(body["context"]["draftOrders"]["entry"], full_urls or [], strict=False):
        if url is not None:
            entry["fullUrl"] = url
    body["context"]["selections"] = selections
    return body


def _without_id(draft: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in draft.items() if k != "id"}


def _dosed(draft: dict[str, Any], quantity: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(draft)
    out["dosageInstruction"][0]["doseAndRate"] = [{"doseQuantity": quantity}]
    return out


def _cards(client: TestClient, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = client.post(path, json=body)
    assert r.status_code == 200, r.text
    cards: list[dict[str, Any]] = r.json()["cards"]
    return cards


# --- 1. order-select: a selection names a draft by reference, fullUrl or absolute URL; else 422 -----------------
@needs_layers
@pytest.mark.parametrize(
    ("draft", "full_url", "selection"),
    [
        (draft_cabozantinib(60), None, "MedicationRequest/draft-cabo"),
        (draft_cabozantinib(60), "urn:uuid:aaaa", "urn:uuid:aaaa"),
        (draft_cabozantinib(60), None, "http://ehr/fhir/MedicationRequest/draft-cabo"),
        (draft_cabozantinib(60), None, "https://ehr/fhir/MedicationRequest/draft-cabo/_history/2"),
        (_without_id(draft_cabozantinib(60)), "urn:uuid:aaaa", "urn:uuid:aaaa"),
    ],
    ids=["reference", "full-url", "absolute-url", "versioned-url", "no-id-full-url"],
)
def test_order_select_finds_the_draft_however_the_selection_names_it(
    open_client: TestClient, draft: dict[str, Any], full_url: str | None, selection: str
) -> None:
    expected = _cards(open_client, OS, hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft]))
    assert expected  # the draft has cards to give
    chosen = _cards(open_client, OSEL, _select([draft], [selection], [full_url]))
    assert [c["summary"] for c in chosen] == [c["summary"] for c in expected]


@needs_layers
@pytest.mark.parametrize(
    ("selections", "field"),
    [
        (["MedicationRequest/nope"], "context.selections[0]"),
        (["MedicationRequest/draft-cabo", "urn:uuid:bbbb"], "context.selections[1]"),
        (["http://ehr/fhir/MedicationRequest/nope"], "context.selections[0]"),
        (["http://ehr/fhir/ServiceRequest/draft-cabo"], "context.selections[0]"),
        (["xMedicationRequest/draft-cabo"], "context.selections[0]"),
        (["http://ehr/fhir/xMedicationRequest/draft-cabo"], "context.selections[0]"),
        ([""], "context.selections[0]"),
    ],
    ids=["unknown-id", "unknown-full-url", "unknown-absolute", "other-type", "prefix", "url-prefix", "empty"],
)
def test_a_selection_that_names_no_draft_is_422(
    open_client: TestClient, selections: list[str], field: str
) -> None:
    r = open_client.post(OSEL, json=_select([draft_cabozantinib(60)], selections, ["urn:uuid:aaaa"]))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field]


@needs_layers
def test_a_selection_of_another_kind_of_draft_order_is_no_error(open_client: TestClient) -> None:
    """Selections name draft orders of any type: a lab order selected beside nothing netcds checks."""
    lab = {
        "resourceType": "ServiceRequest",
        "id": "lab-1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": "Chromogranin A"},
    }
    body = _select([draft_cabozantinib(60), lab], ["ServiceRequest/lab-1"], [None, "urn:uuid:lab"])
    assert _cards(open_client, OSEL, body) == []
    body["context"]["selections"] = ["urn:uuid:lab"]
    assert _cards(open_client, OSEL, body) == []


@needs_layers
def test_a_draft_without_id_selected_by_full_url_is_screened_as_a_concomitant_order(
    open_client: TestClient,
) -> None:
    body = _select(
        [_without_id(CLARITHROMYCIN_DRAFT)], ["urn:uuid:clari"], ["urn:uuid:clari"], record([CABOZANTINIB])
    )
    (card,) = concomitant(_cards(open_client, OSEL, body))
    assert "clarithromycin" in card["summary"].lower()


@needs_layers
def test_an_unreadable_draft_selected_by_full_url_gets_its_not_checked_card(open_client: TestClient) -> None:
    lost = _without_id(draft_cabozantinib(60))
    del lost["medicationCodeableConcept"]
    lost["medicationReference"] = {"reference": "Medication/nowhere"}
    (card,) = _cards(open_client, OSEL, _select([lost], ["urn:uuid:lost"], ["urn:uuid:lost"]))
    assert "not checked" in card["summary"]


def test_a_draft_knows_its_full_url() -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [{"fullUrl": "urn:uuid:aaaa", "resource": draft_cabozantinib(60)}],
    }
    (d,) = draft_medications(bundle)
    assert d.full_url == "urn:uuid:aaaa" and d.reference == "MedicationRequest/draft-cabo"


# --- 2. the draft's dose: numbers only, g / ug / mcg as mg, an unread unit said on a card -----------------------
@pytest.mark.parametrize(
    ("quantity", "mg"),
    [
        ({"value": 60, "unit": "mg", "system": UCUM, "code": "mg"}, 60.0),
        ({"value": 0.06, "unit": "g", "system": UCUM, "code": "g"}, 60.0),
        ({"value": 60000, "unit": "ug", "system": UCUM, "code": "ug"}, 60.0),
        ({"value": 60000, "unit": "mcg"}, 60.0),
        ({"value": 60, "unit": "MG"}, 60.0),
        ({"value": 5, "unit": "mL", "system": UCUM, "code": "mL"}, None),
        ({"value": 60}, None),
    ],
    ids=["mg", "g", "ug", "mcg", "MG", "mL", "no-unit"],
)
def test_a_dose_in_a_mass_unit_is_read_in_mg(quantity: dict[str, Any], mg: float | None) -> None:
    draft = _dosed(draft_cabozantinib(60), quantity)
    assert draft_dose_mg(draft) == mg
    assert (dose_not_read(draft) is None) == (mg is not None)


def test_an_unread_dose_names_its_unit() -> None:
    ml = _dosed(draft_cabozantinib(60), {"value": 5, "unit": "mL", "system": UCUM, "code": "mL"})
    assert dose_not_read(ml) == ("5 mL", "unit mL")
    assert dose_not_read(_dosed(draft_cabozantinib(60), {"value": 600})) == ("600", "no unit")
    tablet = {"value": 1, "unit": "tablet", "system": UCUM, "code": "{tbl}"}
    assert dose_not_read(_dosed(draft_cabozantinib(60), tablet)) == ("1 tablet", "unit tablet")
    assert dose_not_read(draft_daily("x", "cabozantinib", None)) is None  # no dose stated: nothing to read


@needs_layers
@pytest.mark.parametrize(
    "quantity",
    [
        {"value": 600000, "unit": "mg", "system": UCUM, "code": "mg"},
        {"value": 600, "unit": "g", "system": UCUM, "code": "g"},
        {"value": 600000000, "unit": "ug", "system": UCUM, "code": "ug"},
        {"value": 600000000, "unit": "mcg"},
    ],
    ids=["mg", "g", "ug", "mcg"],
)
def test_a_dose_above_the_label_is_warned_about_in_any_mass_unit(
    open_client: TestClient, quantity: dict[str, Any]
) -> None:
    draft = _dosed(draft_cabozantinib(60), quantity)
    cards = _cards(open_client, OS, hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft]))
    (card,) = [c for c in cards if ABOVE in c["summary"]]
    assert "ordered 600000 mg" in card["summary"]


@needs_layers
@pytest.mark.parametrize(
    ("value", "field"),
    [
        (
            {"doseQuantity": {"value": "600000", "unit": "mg", "system": UCUM, "code": "mg"}},
            f"{QUANTITY}.value",
        ),
        (
            {"doseRange": {"low": {"value": "40", "unit": "mg"}, "high": {"value": 60, "unit": "mg"}}},
            QUANTITY.removesuffix("doseQuantity") + "doseRange.low.value",
        ),
    ],
    ids=["dose-quantity", "dose-range"],
)
def test_a_string_for_a_dose_number_is_422_naming_it(
    open_client: TestClient, value: dict[str, Any], field: str
) -> None:
    draft = draft_cabozantinib(60)
    draft["dosageInstruction"][0]["doseAndRate"] = [value]
    r = open_client.post(OS, json=hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft]))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert "number" in r.json()["errors"][0]["message"]


@needs_layers
def test_a_string_for_a_timing_number_is_422_naming_it(open_client: TestClient) -> None:
    draft = draft_cabozantinib(60)
    draft["dosageInstruction"][0]["timing"]["repeat"]["period"] = "1"
    r = open_client.post(OS, json=hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft]))
    assert r.status_code == 422, r.text
    field = "context.draftOrders.entry[0].resource.dosageInstruction[0].timing.repeat.period"
    assert [e["field"] for e in r.json()["errors"]] == [field]


@needs_layers
@pytest.mark.parametrize(
    ("quantity", "words"),
    [
        ({"value": 5, "unit": "mL", "system": UCUM, "code": "mL"}, "unit mL"),
        ({"value": 600000}, "no unit"),
    ],
    ids=["mL", "no-unit"],
)
def test_a_dose_whose_unit_cannot_be_read_is_said_on_a_card(
    open_client: TestClient, quantity: dict[str, Any], words: str
) -> None:
    draft = _dosed(draft_cabozantinib(60), quantity)
    cards = _cards(open_client, OS, hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft]))
    (card,) = [c for c in cards if "ordered dose not compared" in c["summary"]]
    assert words in card["summary"] and words in card["detail"]
    assert card["indicator"] == "info" and "not an all-clear" in card["detail"]
    assert "60 mg" in card["detail"]  # the labelled dose it was not compared with
    assert card["source"]["topic"]["code"] == "dose-adjustment"
    assert not any(ABOVE in c["summary"] for c in cards)


@needs_layers
def test_a_dose_in_mg_gets_no_not_compared_card(open_client: TestClient) -> None:
    cards = _cards(
        open_client, OS, hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft_cabozantinib(60)])
    )
    assert cards and not any("not compared" in c["summary"] for c in cards)


# --- 3. the same draft twice: each card once --------------------------------------------------------------------
@needs_layers
@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_the_same_draft_twice_gives_each_card_once(open_client: TestClient, hook: str) -> None:
    draft = draft_cabozantinib(600000)
    once = hook_request(hook, prefetch_data=prefetch(), drafts=[draft])
    twice = hook_request(hook, prefetch_data=prefetch(), drafts=[draft, copy.deepcopy(draft)])
    if hook == "order-select":
        for body in (once, twice):
            body["context"]["selections"] = ["MedicationRequest/draft-cabo"]
    path = OS if hook == "order-sign" else OSEL
    one, two = _cards(open_client, path, once), _cards(open_client, path, twice)
    uuids = [c["uuid"] for c in two]
    assert len(uuids) == len(set(uuids))
    assert [c["uuid"] for c in one] == uuids


@needs_layers
def test_the_same_unreadable_draft_twice_gives_one_not_checked_card(open_client: TestClient) -> None:
    lost = draft_cabozantinib(60)
    del lost["medicationCodeableConcept"]
    lost["medicationReference"] = {"reference": "Medication/nowhere"}
    body = hook_request("order-sign", prefetch_data=prefetch(), drafts=[lost, copy.deepcopy(lost)])
    (card,) = _cards(open_client, OS, body)
    assert "not checked" in card["summary"]
