"""Text from the record or the EHR is literal text in a card: HTML and Markdown links or images it carries
are escaped (CommonMark backslash escapes), while netcds's own Markdown (bold labels, its links) stays."""

from __future__ import annotations

import re
from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.fhir.cards import AgentScreenView, SafetyFinding, md_text, order_cards, patient_view_cards
from tests.api.conftest import OS, draft_cabozantinib, hook_request, prefetch
from tests.api.test_cards import ev_of, spec_ok

BASE = "http://cds.example.test"
LINK = "<a href='https://evil.example'>clarithromycin</a>"
IMAGE = '<img src=x onerror="fetch(1)">'
MD_LINK = "[re-authenticate](https://evil.example/login) ![x](https://evil.example/x.png)"
needs_layers = pytest.mark.skipif(
    find_spec("netcds.safety") is None or find_spec("netcds.fhir.mcode") is None, reason="layers absent"
)


def _unescaped(text: str) -> list[str]:
    """Markup a Markdown renderer would act on: a raw tag, an entity, a link or image opening."""
    bare = re.sub(r"\\.", "", text)  # drop every backslash-escaped character
    return re.findall(r"<[A-Za-z/!]|&[#A-Za-z]|\]\(|!\[", bare)


def test_md_text_escapes_html_and_markdown_links() -> None:
    for raw in (LINK, IMAGE, MD_LINK, "a\\[b](c)", "x &amp; y", "<https://evil.example>"):
        escaped = md_text(raw)
        assert not _unescaped(escaped), escaped
        assert re.sub(r"\\(.)", r"\1", escaped) == raw  # the words themselves kept
    assert md_text("clarithromycin 500 mg (tablet)") == "clarithromycin 500 mg (tablet)"
    # a summary (plain text in CDS Hooks) keeps emphasis characters; links, images and HTML stay escaped
    assert md_text("UGT1A1*28 <b>", emphasis=False) == "UGT1A1*28 \\<b\\>"


def test_a_finding_quoting_record_text_is_escaped_but_the_cards_own_markdown_is_not() -> None:
    finding = SafetyFinding(
        severity="warning",
        agent="cabozantinib",
        finding=f"Strong CYP3A4 inhibitor ({LINK} {IMAGE})",
        source={"document": "label", "url": "https://dailymed.test/cabo"},
    )
    note = SafetyFinding(
        severity="info", agent="cabozantinib", kind="monitoring", finding=f"not screened: '{MD_LINK}'"
    )
    view = AgentScreenView(agent="cabozantinib", safety=[finding, note])
    cards = order_cards(view, draft_cabozantinib(60), base_url=BASE, seed="s")
    for c in cards:
        spec_ok(c)
        assert not _unescaped(c["summary"]) and not _unescaped(c["detail"]), c["detail"]
    assert cards[0]["detail"].startswith("**Cabozantinib:** Strong CYP3A4 inhibitor (\\<a href=")
    assert "**Source:** label" in cards[0]["detail"]
    assert cards[1]["detail"].startswith("**Monitoring to plan:**")


def test_patient_view_critical_finding_from_record_text_is_escaped() -> None:
    critical = SafetyFinding(severity="critical", agent="cabozantinib", finding=f"Recent bleeding: {IMAGE}")
    screen = AgentScreenView(agent="cabozantinib", safety=[critical])
    cards = patient_view_cards(ev_of(), base_url=BASE, seed="s", screens=[screen])
    card = next(c for c in cards if "bleeding" in c["summary"])
    assert not _unescaped(card["detail"]) and not _unescaped(card["summary"])
    assert "*Preferred:*" in cards[0]["detail"]  # the options card's own emphasis


@needs_layers
@pytest.mark.parametrize("where", ["draft", "medicationStatement"])
def test_order_sign_escapes_html_from_the_ehr(open_client: TestClient, where: str) -> None:
    """The review's requests: HTML as a draft order's drug text, and as a recorded medication's name."""
    other: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "draft-html",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": f"{LINK} {IMAGE}"},
    }
    pf = prefetch()
    drafts = [draft_cabozantinib(60)]
    if where == "draft":
        drafts.append(other)
    else:
        statement = {
            "resourceType": "MedicationStatement",
            "id": "ms1",
            "status": "active",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {"text": f"{LINK} {MD_LINK}"},
        }
        pf["medicationStatements"] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": statement}],
        }
    r = open_client.post(OS, json=hook_request("order-sign", prefetch_data=pf, drafts=drafts))
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    assert any("evil.example" in c["detail"] for c in cards)  # the record's words are still shown
    for c in cards:
        assert not _unescaped(c["summary"]) and not _unescaped(c["detail"]), c["detail"]
