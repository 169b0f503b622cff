"""Draft orders -> tabled agents and concomitant medicines."""

from __future__ import annotations

from netcds.api.orders import agent_from_text, concomitant_names, draft_medications, generic_name, identify
from tests.api.conftest import CLARITHROMYCIN, RXNORM, draft_cabozantinib


def test_agent_by_ingredient_or_brand_as_whole_words() -> None:
    assert agent_from_text("cabozantinib 20 MG Oral Tablet [Cabometyx]") == "cabozantinib"
    assert agent_from_text("CABOMETYX 60 mg tablet") == "cabozantinib"
    assert agent_from_text("Sandostatin LAR Depot 30 mg") == "octreotide_lar"
    assert agent_from_text("octreotide 100 mcg injection") == "octreotide"
    assert agent_from_text("Lutathera (lutetium Lu 177 dotatate)") == "lu177_dotatate"
    assert agent_from_text("clarithromycin 500 mg") is None
    assert agent_from_text("ever") is None


def test_rxnorm_code_table_wins_over_text() -> None:
    mr = {
        "resourceType": "MedicationRequest",
        "id": "x",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "141704"}]},
    }
    assert identify(mr, {"141704": "everolimus"}).agent == "everolimus"
    assert identify(mr, {}).agent is None


def test_draft_bundle_and_concomitant_medicines() -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": draft_cabozantinib()},
            {"resource": CLARITHROMYCIN},
            {"resource": {"resourceType": "ServiceRequest", "id": "lab"}},
        ],
    }
    drafts = draft_medications(bundle)
    assert [(d.agent, d.reference) for d in drafts] == [
        ("cabozantinib", "MedicationRequest/draft-cabo"),
        (None, "MedicationRequest/m-clari"),
    ]
    assert concomitant_names(drafts, None) == ["clarithromycin"]
    assert concomitant_names(drafts, ["clarithromycin", "metformin"]) == ["clarithromycin", "metformin"]
    assert concomitant_names(drafts[:1], None) is None  # unknown stays unknown
    assert generic_name("Clarithromycin 500 MG Oral Tablet") == "clarithromycin"
