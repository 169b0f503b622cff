"""The clinical reviewer's card-quality findings: one card per finding, the patient's own guideline table (or
the label) cited, descriptive wording (never a directive), clinician-readable field labels."""

from __future__ import annotations

import copy
import re
from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds import Patient, evaluate, load_knowledge
from netcds.fhir import dose_cards
from netcds.fhir.cards import AgentScreenView, DoseAdvice, SafetyFinding, order_cards, patient_view_cards
from netcds.fhir.guideline_cards import GuidelineFacts, guideline_order_card, tables_listing
from tests.api.conftest import (
    CLARITHROMYCIN,
    draft_cabozantinib,
    draft_daily,
    hook_request,
    patient_record,
    prefetch,
)
from tests.api.test_cards import spec_ok

pytestmark = [
    pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping absent"),
    pytest.mark.skipif(find_spec("netcds.safety") is None, reason="safety layer absent"),
]

# the unit cards' base URL (tests.api.test_cards.spec_ok checks their links with it)
BASE = "http://cds.example.test"
SERVICE = {
    "order-sign": "/cds-services/netcds-order-sign",
    "order-select": "/cds-services/netcds-order-select",
}
# a contract path as the record spells it ("tumor.sstr_status", "medications[0]", "treatments[0].dose_mg")
RAW_PATH = re.compile(
    r"\b(?:tumor|disease|biomarkers|comorbidities|context|preferences|treatments|assessments|medications"
    r"|derived)(?:\[\d+\])?(?:\.[a-z_]+|\[\d+\])"
)
# a sentence (or clause after a colon or semicolon) that orders the prescriber about
DIRECTIVE = re.compile(
    r"(?:^|[.;:]\s+)(?:do not|don't|stop|reduce|withhold|hold|delay|avoid|start|give|switch|control|prefer"
    r"|choose|plan to|discuss stopping|advise|never|take on)\b|\bmust not\b|\bnot to be given\b",
    re.IGNORECASE,
)


def everolimus_draft(mg: float = 10) -> dict[str, Any]:
    return draft_daily("draft-evero", "everolimus 10 MG Oral Tablet", mg)


def order(
    client: TestClient, hook: str, drafts: list[dict[str, Any]], meds: list[Any]
) -> list[dict[str, Any]]:
    body = hook_request(hook, prefetch_data=prefetch(meds), drafts=drafts)
    if hook == "order-select":
        body["context"]["selections"] = [f"MedicationRequest/{d['id']}" for d in drafts]
    r = client.post(SERVICE[hook], json=body)
    assert r.status_code == 200, r.text
    cards: list[dict[str, Any]] = r.json()["cards"]
    for c in cards:
        assert c["summary"] and len(c["summary"]) < 140 and c["source"]["label"]
    return cards


# ---- 1. one finding, one card ----------------------------------------------------------------------------
@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_everolimus_with_clarithromycin_is_said_on_one_card(open_client: TestClient, hook: str) -> None:
    # the strong-inhibitor rule says "avoid" and leaves everolimus without a labelled dose: its finding card
    # carries that dose, instead of a second (dose) card repeating the same interaction
    cards = order(open_client, hook, [everolimus_draft()], [CLARITHROMYCIN])
    serious = [c for c in cards if c["indicator"] != "info"]
    about = [c for c in serious if "CYP3A4" in c["summary"] + c["detail"]]
    assert len(about) == 1, [c["summary"] for c in serious]
    (card,) = about
    assert "clarithromycin" in card["summary"]
    assert "**Label-based dose for this patient:** no labelled everolimus dose" in card["detail"]
    assert "No dose change suggested" in card["detail"]
    assert not any("suggestions" in c for c in cards)
    assert len({c["summary"] for c in cards}) == len(cards)


def adjustment_item(agent: str, ident: str, text: str, source: dict[str, str]) -> SafetyFinding:
    """The safety item a dose rule of ``agent`` produced."""
    return SafetyFinding(
        severity="warning", agent=agent, finding=text, source=source, id=ident, kind="adjustment"
    )


def test_one_rule_without_a_mg_dose_is_one_card_and_rules_that_conflict_keep_their_dose_card() -> None:
    source = {"document": "CABOMETYX label", "section": "Drug Interactions", "url": "https://x.test"}

    def finding(ident: str, text: str) -> SafetyFinding:
        return adjustment_item("cabozantinib", ident, text, source)

    def view(adjusted: str, rules: list[str], *found: SafetyFinding) -> AgentScreenView:
        dose = DoseAdvice(
            agent="cabozantinib", standard="60 mg", adjusted=adjusted, rules_applied=rules, source=source
        )
        return AgentScreenView(agent="cabozantinib", safety=list(found), dose=dose)

    one = view(
        "avoid: no labelled dose in severe hepatic impairment (the label advises avoiding it)",
        ["hepatic_severe: no labelled dose in severe hepatic impairment"],
        finding("hepatic_severe", "Severe hepatic impairment: the label says to avoid cabozantinib"),
    )
    (card,) = order_cards(one, None, base_url=BASE, seed="s")
    assert "Label-based dose for this patient" in card["detail"]
    assert not card["summary"].startswith("Cabozantinib dose:")
    both = view(
        "not determined: the label gives no dose for strong CYP3A4 inhibitor together with CYP3A4 inducer",
        ["strong_cyp3a4_inhibitor: lowered by 20 mg", "cyp3a4_inducer: raised by 20 mg"],
        finding("strong_cyp3a4_inhibitor", "Strong CYP3A4 inhibitor: raises cabozantinib exposure"),
        finding("cyp3a4_inducer", "CYP3A4 inducer: lowers cabozantinib exposure"),
    )
    cards = order_cards(both, None, base_url=BASE, seed="s")
    # the combination is a finding of its own (neither rule's card says the label has no dose for both)
    dose_cards_first = [c["summary"].startswith("Cabozantinib dose: not determined") for c in cards]
    assert dose_cards_first == [True, False, False]


def test_patient_view_safety_cards_are_one_per_finding() -> None:
    ev = evaluate(
        Patient.model_validate(patient_record(sex="female", pregnant=True, medications=["clarithromycin"])),
        load_knowledge(),
    )
    cards = patient_view_cards(ev, base_url=BASE, seed="s")
    safety = [c for c in cards if c["source"]["topic"]["code"] == "drug-safety"]
    assert safety  # pregnancy: critical for the eligible options' agents
    assert len({c["summary"] for c in safety}) == len(safety)


# ---- 2. the table (or label) that applies to this patient is cited ----------------------------------------
def _pancreatic(text: str) -> bool:
    return "pancrea" in text.lower()


@pytest.mark.parametrize(("mg", "meds"), [(20, []), (10, [CLARITHROMYCIN])])
def test_gi_patient_everolimus_cards_do_not_cite_the_pancreatic_table(
    open_client: TestClient, mg: float, meds: list[Any]
) -> None:
    # ileal primary: the GI WD G1/2 table applies; everolimus's dose is the label's, which the pancreatic
    # table (the only one stating a dose) merely repeats
    cards = order(open_client, "order-sign", [everolimus_draft(mg)], meds)
    if not meds:
        assert any("above the labelled dose" in c["summary"] for c in cards)
    for c in cards:
        assert not _pancreatic(c["source"]["label"]), c["source"]["label"]
        for line in c["detail"].split("\n"):
            if line.startswith("**Other guideline tables that list"):
                continue  # naming the other tables is the point of that line
            assert not _pancreatic(line), line


TABLE_WORDS = {
    "pancreas_wd_g12": re.compile(r"pancrea", re.IGNORECASE),
    "gi_wd_g12": re.compile(r"\bGI\b"),
    "lung_thymus": re.compile(r"\blung\b", re.IGNORECASE),
    "wd_g3": re.compile(r"\bWD G3\b"),
}


def test_guideline_citations_of_the_agent_data_name_no_single_table_of_several() -> None:
    # a monograph's guideline document (and every dose source) is cited for each patient the agent is screened
    # for: naming one table of several that list the agent cites the wrong table for the others
    from netcds.fhir.card_base import cite
    from netcds.safety.load import load_agents, resolve

    akb, kb = load_agents(), load_knowledge()
    wrong = []
    for agent, mono in akb.agents.items():
        listing = {t for t, _ in tables_listing(kb, agent)}
        texts = [doc.document for doc in mono.sources.values() if doc.seed]
        texts.append(cite(resolve(mono.sources, mono.dose.source))[0])
        for text in texts:
            named = {t for t, words in TABLE_WORDS.items() if words.search(text)}
            if named and not named >= listing:
                wrong.append((agent, text, sorted(listing)))
    assert wrong == []


def test_the_applicable_table_states_its_own_dose_on_the_guideline_card() -> None:
    tumor = {**copy.deepcopy(patient_record()["tumor"]), "primary_site": "pancreas"}
    ev = evaluate(Patient.model_validate(patient_record(tumor=tumor)), load_knowledge())
    assert ev.setting.table == "pancreas_wd_g12"
    facts = GuidelineFacts.of(ev, b"")
    listing = tables_listing(load_knowledge(), "everolimus")
    card = guideline_order_card(facts, "everolimus", listing, base_url=BASE, seed="s")
    assert "dose stated in this table: 10 mg by mouth once daily" in card["detail"]
    assert _pancreatic(card["source"]["label"])  # the applicable table: its own citation


# ---- 3. descriptive wording, never a directive -------------------------------------------------------------
def test_agent_data_texts_describe_what_the_source_says() -> None:
    from netcds.safety.load import load_agents

    found = []
    for agent, mono in load_agents().agents.items():
        texts = [(w.id, w.finding, w.action) for w in mono.warnings]
        texts += [(a.id, a.finding, a.action) for a in mono.adjustments]
        texts += [(m.id, m.what, "") for m in mono.monitoring]
        for ident, finding, action in texts:
            for text in (finding, action):
                if DIRECTIVE.search(text):
                    found.append((agent, ident, text))
    assert found == []


@pytest.mark.parametrize("meds", [[CLARITHROMYCIN], []])
def test_order_cards_say_what_the_label_says(open_client: TestClient, meds: list[Any]) -> None:
    cards = order(open_client, "order-sign", [everolimus_draft(20)], meds)
    for c in cards:
        assert len(c["summary"]) < 140
        assert not DIRECTIVE.search(c["summary"]), c["summary"]
        assert not re.search(r"\bconsider\b", c["summary"], re.IGNORECASE), c["summary"]
        for part in c["detail"].split("\n\n"):
            text = re.sub(r"\*\*[^*]+:\*\*\s*", "", part)  # the bold headings
            assert not DIRECTIVE.search(text), part
        assert "**Consider:**" not in c["detail"]
        assert "check the order against the label" not in c["detail"]


# ---- 4. clinician-readable field labels ------------------------------------------------------------------
def test_missing_data_card_shows_labels_not_field_paths() -> None:
    rec = patient_record()
    del rec["tumor"]["sstr_status"]
    ev = evaluate(Patient.model_validate(rec), load_knowledge())
    (card,) = [
        c
        for c in patient_view_cards(ev, base_url=BASE, seed="s")
        if c["source"]["topic"]["code"] == "missing-data"
    ]
    spec_ok(card)
    assert "SSTR status (SSTR-PET / scintigraphy)" in card["summary"]
    assert "- SSTR status (SSTR-PET / scintigraphy):" in card["detail"]
    for text in (card["summary"], card["detail"]):
        assert not RAW_PATH.search(text), RAW_PATH.findall(text)


@pytest.mark.parametrize("meds", [[CLARITHROMYCIN], []])
def test_order_cards_show_labels_not_field_paths(open_client: TestClient, meds: list[Any]) -> None:
    cards = order(open_client, "order-sign", [everolimus_draft(20)], meds)
    for c in cards:
        for text in (c["summary"], c["detail"]):
            assert not RAW_PATH.search(text), (c["summary"], RAW_PATH.findall(text))
    (gathering,) = [c for c in cards if "**Checks not assessed" in c["detail"]]  # one card for all of them
    assert "not assessed: Diabetes — needed to check" in gathering["detail"]


def test_field_labels_for_cards() -> None:
    from netcds.fhir.cards import field_label

    assert field_label("tumor.sstr_status") == "SSTR status (SSTR-PET / scintigraphy)"
    assert field_label("treatments[0].dose_mg") == "Dose (mg) of recorded treatment 1"
    assert field_label("medications[2]") == "Recorded medication 3"
    assert field_label("medications") == "Concomitant medications"
    assert field_label("derived.grade") == "WHO grade"  # not "Who grade"


def test_the_cards_read_the_screens_wording() -> None:
    from netcds.safety import screen

    screens = (screen.NO_DOSE[0], screen.PENDING, screen.UNVERIFIED)
    assert screens == (dose_cards.AVOID, dose_cards.PENDING, dose_cards.UNVERIFIED)


# ---- 5. a dose rule is named by its situation, not by its id -------------------------------------------
def test_dose_rules_are_named_in_words_on_the_cards(open_client: TestClient) -> None:
    from netcds.safety import load_agents

    cards = order(open_client, "order-sign", [draft_cabozantinib()], [CLARITHROMYCIN])
    (dose,) = [c for c in cards if "**Because:**" in c["detail"]]
    because = dose["detail"].split("**Because:** ")[1].split("\n")[0]
    assert because.startswith("Strong CYP3A4 inhibitor: daily dose lowered by 20 mg")
    waiting = dose["detail"].split("**Dose not final, data missing:** ")[1].split("\n")[0]
    assert waiting.startswith("Hepatic impairment (for the dose rules on moderate hepatic impairment")
    text = "\n".join(c["detail"] + c["summary"] for c in cards)
    ids = [a.id for a in load_agents().agents["cabozantinib"].adjustments]
    assert "strong_cyp3a4_inhibitor" in ids and "hepatic_moderate" in ids
    assert not [i for i in ids if i in text]


def test_an_unverified_dose_rule_is_matched_to_its_item_and_keeps_its_mark() -> None:
    source = {"document": "LUTATHERA label", "section": "Dosage and Administration", "url": "https://x.test"}
    rule = "renal_toxicity [UNVERIFIED]: the label's dose modification after renal toxicity"
    dose = DoseAdvice(
        agent="lu177_dotatate",
        standard="7.4 GBq",
        adjusted="UNVERIFIED — avoid: no labelled dose",
        rules_applied=[rule],
        source=source,
        rule_names={"renal_toxicity": "Creatinine clearance under 40 mL/min after earlier LUTATHERA"},
    )
    item = adjustment_item(
        "lu177_dotatate",
        "renal_toxicity",
        "[UNVERIFIED] Creatinine clearance under 40 mL/min after earlier LUTATHERA: ...",
        source,
    )
    view = AgentScreenView(agent="lu177_dotatate", safety=[item], dose=dose)
    assert dose.rule_ids() == {"renal_toxicity"}  # was "renal_toxicity [UNVERIFIED]", matching no item
    assert dose_cards.causing_rules(view) == ["renal_toxicity"]
    lines = "\n".join(dose_cards.dose_lines(view, None))
    assert (
        "**Because:** Creatinine clearance under 40 mL/min after earlier LUTATHERA [UNVERIFIED]: the label's"
        in lines
    )


def test_octreotide_lar_is_named_in_words_on_its_cards(open_client: TestClient) -> None:
    lar = draft_daily("draft-lar", "octreotide LAR 30 MG injection", 30)
    cards = order(open_client, "order-sign", [lar], [])
    assert cards and all(c["summary"].startswith("Octreotide LAR: ") for c in cards)
    text = "\n".join(c["summary"] + c["detail"] for c in cards)
    assert (
        "octreotide LAR" in text
    )  # inside sentences, e.g. "Options of this table that include octreotide LAR"
    assert "octreotide_lar" not in text and "Octreotide lar" not in text
