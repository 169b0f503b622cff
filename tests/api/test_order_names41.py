"""Order hooks and the FHIR mapping read drug names from one list (QA session 41, HIGH: the order hooks'
own list had drifted, so "Lu-177 dotatate", "Camptosar", "Eloxatin", "5-FU" and "levoleucovorin" drafts got
no card at all), and the common Lu-177 spellings and its INN are known to both (MEDIUM)."""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api.orders import _NAMES, identify
from netcds.fhir.agent_codes import AGENTS
from netcds.fhir.drug_names import agents_in
from tests.api.conftest import OS, draft_daily, hook_request, prefetch

pytestmark = pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping absent")

NAMED = [
    ("lutetium Lu-177 dotatate", "lu177_dotatate"),
    ("Lu-177 dotatate", "lu177_dotatate"),
    ("177Lu-DOTATATE", "lu177_dotatate"),
    ("Lu-177-DOTATATE", "lu177_dotatate"),
    ("Lutetium-177 dotatate 7.4 GBq", "lu177_dotatate"),
    ("lutetium (177Lu) oxodotreotide", "lu177_dotatate"),
    ("lutetium dotatate", "lu177_dotatate"),
    ("Camptosar 100 mg IV", "irinotecan"),
    ("Eloxatin", "oxaliplatin"),
    ("5-FU 400 mg/m2", "fluorouracil"),
    ("levoleucovorin", "leucovorin"),
    ("Sandostatin LAR Depot 30 mg", "octreotide_lar"),
]


def draft(text: str, mg: float | None = None, unit: str = "mg") -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "MedicationRequest", "id": "d1", "status": "draft", "intent": "order",
                           "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": {"text": text}}  # fmt: skip
    if mg is not None:
        out["dosageInstruction"] = [{"doseAndRate": [{"doseQuantity": {"value": mg, "unit": unit}}]}]
    return out


@pytest.mark.parametrize(("text", "agent"), NAMED)
def test_an_order_names_the_agent_the_fhir_mapping_reads(text: str, agent: str) -> None:
    assert identify(draft(text)).agent == agent
    mapped = [a for a, _ in agents_in({"text": text})]
    assert mapped == ["octreotide" if agent == "octreotide_lar" else agent]


def test_every_fhir_name_but_liposomal_irinotecan_is_an_order_name() -> None:
    for a in AGENTS:
        for name in a.names:
            found = identify(draft(name)).agent
            assert found == (None if name == "onivyde" else a.agent), name


def test_diagnostic_dotatate_tracers_are_not_the_therapy() -> None:
    for text in ("Ga-68 dotatate", "gallium (68Ga) oxodotreotide", "Cu-64 dotatate (Detectnet)"):
        assert identify(draft(text)).agent is None
        assert agents_in({"text": text}) == []


@pytest.mark.parametrize(
    ("text", "mg", "unit", "agent"),
    [
        ("octreotide 20 MG Injectable Suspension", None, "mg", "octreotide_lar"),
        ("octreotide acetate injection", 30, "mg", "octreotide_lar"),
        ("octreotide acetate injection", 100, "ug", "octreotide"),
        ("octreotide 20 MG Delayed Release Oral Capsule [Mycapssa]", None, "mg", "octreotide"),
        ("octreotide LAR", None, "mg", "octreotide_lar"),
    ],
)
def test_an_octreotide_order_is_long_acting_as_the_mapping_reads_it(
    text: str, mg: float | None, unit: str, agent: str
) -> None:
    assert identify(draft(text, mg, unit)).agent == agent


def test_names_are_normalised_once() -> None:
    assert all(name == name.lower() and "(" not in name for name in _NAMES)


@pytest.mark.skipif(find_spec("netcds.safety") is None, reason="safety layer absent")
def test_a_lu177_draft_under_a_common_name_gets_the_agents_cards(open_client: TestClient) -> None:
    r = open_client.post(
        OS,
        json=hook_request(
            "order-sign", prefetch_data=prefetch(), drafts=[draft_daily("d1", "Lu-177 dotatate", None)]
        ),
    )
    assert r.status_code == 200, r.text
    topics = [c.get("source", {}).get("topic", {}).get("code") for c in r.json()["cards"]]
    assert "therapy-options" in topics
