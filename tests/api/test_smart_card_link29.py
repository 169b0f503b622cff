"""A SMART-enabled service links its patient-view options card to the SMART launch (a CDS Hooks ``smart``
link, which the EHR opens with its launch context); a service that is no SMART app never offers one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.api.examples import PATIENT_VIEW_EXAMPLE
from netcds.fhir.cards import SMART_LINK_LABEL
from netcds.settings import Settings
from netcds.settings_smart import SmartSettings

BASE = "https://netcds.example"


def _cards(tmp_path: Path, smart: SmartSettings) -> list[dict[str, Any]]:
    settings = Settings(db_url=f"sqlite:///{tmp_path}/s.db", hooks_open=True, base_url=BASE, smart=smart)
    app = create_app(settings)
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            res = client.post("/cds-services/netcds-patient-view", json=PATIENT_VIEW_EXAMPLE)
            assert res.status_code == 200, res.text
            cards: list[dict[str, Any]] = res.json()["cards"]
            return cards
    finally:
        app.state.netcds.store.close()


def _smart_links(cards: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, k) for i, c in enumerate(cards) for k in c.get("links") or [] if k.get("type") == "smart"]


def test_the_options_card_links_to_the_smart_launch_when_enabled(tmp_path: Path) -> None:
    smart = SmartSettings(
        enabled=True,
        client_id="netcds",
        redirect_uri=f"{BASE}/ui/smart/callback",
        issuers=("https://ehr.example/fhir",),
    )
    cards = _cards(tmp_path, smart)
    assert _smart_links(cards) == [
        (0, {"label": SMART_LINK_LABEL, "url": f"{BASE}/ui/smart/launch", "type": "smart"})
    ]
    assert cards[0]["source"]["topic"]["code"] == "therapy-options"  # the options card carries it
    # the other links stay plain web pages
    others = [k for c in cards for k in c.get("links") or [] if k.get("type") != "smart"]
    assert others and all(k["type"] == "absolute" for k in others)


def test_no_smart_link_when_the_service_is_no_smart_app(tmp_path: Path) -> None:
    cards = _cards(tmp_path, SmartSettings())
    assert cards and _smart_links(cards) == []
