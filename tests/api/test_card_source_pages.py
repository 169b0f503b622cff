"""A guideline card's ``source.url`` is loaded by the clinician's browser ("via GET, in a browser context",
CDS Hooks 2.0, Source), which has no bearer token: it is the web page of the knowledge release the card was
computed with (the table's page when the card is about one table, else the release's index), as are the
card's links to the guideline's tables, never the JSON of ``/api/v1/guidelines``. Drug-safety cards keep
their label URLs."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from netcds import Patient, evaluate, load_knowledge
from netcds.api.app import create_app
from netcds.engine.core import guideline_ref
from netcds.fhir.cards import patient_view_cards
from netcds.fhir.guideline_cards import guideline_unchecked_card, tables_listing
from netcds.knowledge.load import DEFAULT_VERSION
from tests.api.conftest import (
    BASE,
    CLARITHROMYCIN,
    OS,
    PV,
    Keys,
    auth,
    draft_cabozantinib,
    hook_request,
    make_settings,
    patient_record,
    prefetch,
)

GUIDELINE_TOPICS = ("therapy-options", "missing-data")
needs_mapping = pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping absent")
needs_safety = pytest.mark.skipif(find_spec("netcds.safety") is None, reason="safety layer absent")


def release_page(release: str, table: str | None = None) -> str:
    page = f"{BASE}/ui/guideline/nccn-net/{release}"
    return f"{page}/{table}" if table else page


def service(tmp_path: Path, keys: Keys, name: str, **over: Any) -> TestClient:
    """The service with the REST API behind a token (``server.require_token``)."""
    settings = make_settings(tmp_path / name, keys, api_require_token=True, **over)
    (tmp_path / name).mkdir()
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture
def locked(tmp_path: Path, keys: Keys) -> Iterator[TestClient]:
    with service(tmp_path, keys, "current") as c:
        yield c


@pytest.fixture
def locked_r5(tmp_path: Path, keys: Keys) -> Iterator[TestClient]:
    """The same, with its knowledge release pinned to 5.2024-r5 (``knowledge.version``)."""
    with service(tmp_path, keys, "r5", guideline_version="5.2024-r5") as c:
        yield c


def hook(
    c: TestClient, keys: Keys, path: str, medications: list[dict[str, Any]] | None = None, **body: Any
) -> list[dict[str, Any]]:
    kind = "order-sign" if path == OS else "patient-view"
    request = hook_request(kind, prefetch_data=prefetch(medications), **body)
    r = c.post(path, json=request, headers=auth(keys, path))
    assert r.status_code == 200, r.text
    cards: list[dict[str, Any]] = r.json()["cards"]
    return cards


def guideline_cards(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [c for c in cards if c["source"]["topic"]["code"] in GUIDELINE_TOPICS]
    assert found, [c["summary"] for c in cards]
    return found


def table_link(card: dict[str, Any]) -> str:
    urls = [k["url"] for k in card["links"] if "/ui/guideline" in k["url"]]
    assert len(urls) == 1, card["links"]
    return urls[0]


def opened_in_a_browser(c: TestClient, url: str) -> httpx.Response:
    """GET ``url`` as the clinician's browser does: no Authorization header; a 200 HTML page."""
    assert url.startswith(BASE + "/"), url
    page = c.get(url.removeprefix(BASE))
    assert page.status_code == 200, (url, page.text[:300])
    assert page.headers["content-type"].startswith("text/html")
    return page


@needs_mapping
def test_patient_view_guideline_cards_cite_their_release_page_which_opens_without_a_token(
    locked: TestClient, keys: Keys
) -> None:
    cards = hook(locked, keys, PV)
    for card in guideline_cards(cards):
        assert card["source"]["url"] == release_page(DEFAULT_VERSION, "gi_wd_g12")
        assert table_link(card) == card["source"]["url"]
        page = opened_in_a_browser(locked, card["source"]["url"])
        assert f'data-release="nccn-net/{DEFAULT_VERSION}"' in page.text
        assert 'data-table="gi_wd_g12"' in page.text and 'data-entry="gi.lu177_dotatate"' in page.text
    # the REST API itself still asks for the token
    assert locked.post("/api/v1/evaluate", json=patient_record()).status_code == 401


@needs_mapping
@needs_safety
def test_order_sign_guideline_card_cites_its_release_page_and_safety_cards_their_labels(
    locked: TestClient, keys: Keys
) -> None:
    cards = hook(locked, keys, OS, [CLARITHROMYCIN], drafts=[draft_cabozantinib(60)])
    (card,) = guideline_cards(cards)
    assert card["source"]["url"] == release_page(DEFAULT_VERSION, "gi_wd_g12")
    assert table_link(card) == card["source"]["url"]
    opened_in_a_browser(locked, card["source"]["url"])
    # the drug-safety cards keep their sources: the label (or the agent's data), never a guideline page
    safety = [c["source"] for c in cards if c["source"]["topic"]["code"] not in GUIDELINE_TOPICS]
    assert any(not s.get("url", BASE).startswith(BASE) for s in safety), safety
    assert not [s for s in safety if "/ui/guideline" in s.get("url", "")], safety


@needs_mapping
@needs_safety
def test_a_service_pinned_to_an_older_release_links_its_cards_to_that_release(
    locked_r5: TestClient, locked: TestClient, keys: Keys
) -> None:
    viewed = guideline_cards(hook(locked_r5, keys, PV))
    ordered = guideline_cards(hook(locked_r5, keys, OS, drafts=[draft_cabozantinib(60)]))
    for card in viewed + ordered:
        assert card["source"]["url"] == release_page("5.2024-r5", "gi_wd_g12")
        assert table_link(card) == card["source"]["url"]
    url = viewed[0]["source"]["url"]
    page = opened_in_a_browser(locked_r5, url)
    assert 'data-release="nccn-net/5.2024-r5"' in page.text and "data-current-release" not in page.text
    # once the service has moved on to the current release, the same link still shows r5, and says so
    later = opened_in_a_browser(locked, url)
    assert 'data-release="nccn-net/5.2024-r5"' in later.text
    assert f'data-current-release="{DEFAULT_VERSION}"' in later.text
    assert f'href="/ui/guideline/nccn-net/{DEFAULT_VERSION}/gi_wd_g12"' in later.text


def test_cards_about_no_table_cite_the_release_index() -> None:
    rec = patient_record()
    rec["tumor"] = {**rec["tumor"], "differentiation": "poor", "grade": "G3", "ki67_percent": 70}
    ev = evaluate(Patient.model_validate(rec), load_knowledge("5.2024-r2"))
    assert ev.setting.status == "not_applicable" and ev.setting.table is None
    options = patient_view_cards(ev, base_url=BASE, seed="s")[0]
    assert options["source"]["url"] == release_page("5.2024-r2")
    assert table_link(options) == release_page("5.2024-r2")
    kb = load_knowledge("5.2024")
    unchecked = guideline_unchecked_card(
        "sunitinib", tables_listing(kb, "sunitinib"), "e1", guideline_ref(kb), base_url=BASE, seed="s"
    )
    assert unchecked["source"]["url"] == release_page("5.2024") == table_link(unchecked)


def test_the_release_page_is_part_of_the_card_and_stays_deterministic() -> None:
    patient = Patient.model_validate(patient_record())
    current = evaluate(patient, load_knowledge())
    again = patient_view_cards(current, base_url=BASE, seed="s")
    assert patient_view_cards(current, base_url=BASE, seed="s") == again
    older = patient_view_cards(evaluate(patient, load_knowledge("5.2024-r5")), base_url=BASE, seed="s")
    assert older[0]["source"]["url"] == release_page("5.2024-r5", "gi_wd_g12")
    assert again[0]["source"]["url"] == release_page(DEFAULT_VERSION, "gi_wd_g12")


def test_no_card_source_is_a_json_endpoint_of_netcds() -> None:
    """The cards that cite netcds itself (an agent that could not be screened, a drug not screened against
    a current agent) cite the agent's web page, which a browser can show, not ``/api/v1/agents``."""
    from netcds.fhir.cards import unscreened_card
    from netcds.fhir.concomitant_cards import CurrentLine, concomitant_unscreened_card

    cards = [
        unscreened_card("cabozantinib", "its monograph could not be read", BASE, "seed"),
        concomitant_unscreened_card(
            "lanreotide",
            ["metoprolol"],
            "the screen failed",
            [CurrentLine(0, "lanreotide")],
            base_url=BASE,
            seed="seed",
        ),
    ]
    for card in cards:
        url = card["source"]["url"]
        assert "/api/" not in url, url
        assert url.startswith(f"{BASE}/ui/agents/"), url
