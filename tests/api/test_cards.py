"""Evaluation / safety screen -> CDS Hooks cards: content, determinism, spec shape, no single "best"."""

from __future__ import annotations

from typing import Any

import pytest

from netcds import Patient, evaluate, load_knowledge
from netcds.fhir.cards import (
    AgentScreenView,
    DoseAdvice,
    SafetyFinding,
    cite,
    draft_dose_mg,
    order_cards,
    patient_view_cards,
    summary_text,
)
from tests.api.conftest import draft_cabozantinib, patient_record

BASE = "http://cds.example.test"


def spec_ok(card: dict[str, Any]) -> None:
    """The CDS Hooks 2.0 card rules netcds must keep."""
    assert card["summary"] and len(card["summary"]) < 140
    assert card["indicator"] in ("info", "warning", "critical")
    assert card["source"]["label"]
    assert len(card["uuid"]) == 36
    for key, value in card.items():
        assert value not in (None, "", [], {}), key
    if "suggestions" in card:
        assert card["selectionBehavior"] in ("at-most-one", "any")
        for s in card["suggestions"]:
            assert s["label"] and s["uuid"]
    for r in card.get("overrideReasons", []):
        assert r["display"] and r["code"] and r["system"]
    for link in card.get("links", []):
        assert link["type"] == "absolute" and link["url"].startswith(BASE)


def ev_of(**over: Any) -> Any:
    return evaluate(Patient.model_validate(patient_record(**over)), load_knowledge())


def test_options_card_lists_every_eligible_option_by_tier() -> None:
    ev = ev_of()
    cards = patient_view_cards(ev, base_url=BASE, seed="s")
    for c in cards:
        spec_ok(c)
    main = cards[0]
    eligible = [o for o in ev.options if o.status == "eligible"]
    assert f"{len(eligible)} eligible" in main["summary"]
    for o in eligible:
        assert o.label in main["detail"]
    assert "*Preferred:*" in main["detail"]
    assert "not a ranking" in main["detail"]
    assert ev.disclaimer in main["detail"]
    # the applicable table's web page as the release the card was computed with encodes it (never JSON)
    assert main["source"]["url"] == f"{BASE}/ui/guideline/nccn-net/5.2024-r13/gi_wd_g12"
    assert main["source"]["topic"]["code"] == "therapy-options"
    assert "best" not in main["summary"].lower()


def test_missing_data_card_names_the_fields() -> None:
    rec = patient_record()
    del rec["tumor"]["sstr_status"]
    ev = evaluate(Patient.model_validate(rec), load_knowledge())
    cards = patient_view_cards(ev, base_url=BASE, seed="s")
    missing = [c for c in cards if c["source"]["topic"]["code"] == "missing-data"]
    assert len(missing) == 1
    # named as clinicians read them, not by their contract path (tumor.sstr_status)
    assert "SSTR status (SSTR-PET / scintigraphy)" in missing[0]["summary"]
    assert "- SSTR status (SSTR-PET / scintigraphy):" in missing[0]["detail"]
    assert "tumor.sstr_status" not in missing[0]["summary"] + missing[0]["detail"]
    spec_ok(missing[0])


def test_setting_needing_data_is_a_warning() -> None:
    rec = patient_record()
    rec["tumor"] = {"primary_site": "ileum"}
    ev = evaluate(Patient.model_validate(rec), load_knowledge())
    assert ev.setting.status == "needs_data"
    card = patient_view_cards(ev, base_url=BASE, seed="s")[0]
    assert card["indicator"] == "warning"
    assert "cannot be chosen yet" in card["summary"]


def test_a_setting_left_open_shows_what_each_possible_setting_lists() -> None:
    rec = patient_record()
    rec["tumor"] = {"primary_site": "pancreas", "differentiation": "well", "grade": "G3", "ki67_percent": 30}
    # resectability recorded: from 5.2024-r8 the favorable column waits for it too, here only biology is open
    rec["disease"] = {"extent": "distant_metastatic", "resectable": False, "status": "progressive"}
    ev = evaluate(Patient.model_validate(rec), load_knowledge())
    assert len(ev.possible_settings) == 2
    card = patient_view_cards(ev, base_url=BASE, seed="s")[0]
    spec_ok({**card, "uuid": "0" * 36})
    detail = card["detail"]
    assert "What each possible setting lists" in detail
    fav = next(line for line in detail.splitlines() if "Favorable biology" in line and line.startswith("- *"))
    unfav = next(
        line for line in detail.splitlines() if "unfavorable biology" in line and line.startswith("- *")
    )
    assert "Sunitinib" in fav and "FOLFIRINOX" not in fav  # each setting's own entries
    assert "FOLFIRINOX" in unfav and "Sunitinib" not in unfav
    assert "eligible option" not in card["summary"]  # nothing is called eligible
    assert card["summary"].endswith("record Biology (WD G3 only)")  # a label, not the field path
    assert "disease.biology" not in detail.split("**What each possible setting lists**")[1]


def test_uuids_are_deterministic_and_depend_on_input() -> None:
    ev = ev_of()
    a = patient_view_cards(ev, base_url=BASE, seed="hash-a", explanation_url=f"{BASE}/ui/evaluations/1")
    b = patient_view_cards(ev, base_url=BASE, seed="hash-a", explanation_url=f"{BASE}/ui/evaluations/2")
    c = patient_view_cards(ev, base_url=BASE, seed="hash-b")
    assert [x["uuid"] for x in a] == [x["uuid"] for x in b]  # links carry stored ids; not hashed
    assert [x["uuid"] for x in a] != [x["uuid"] for x in c]
    assert a[0]["links"][0]["url"].endswith("/evaluations/1")


def test_only_critical_safety_findings_reach_patient_view() -> None:
    ev = ev_of()
    screens = [
        AgentScreenView(
            agent="cabozantinib",
            safety=[
                SafetyFinding(
                    severity="critical",
                    agent="cabozantinib",
                    finding="Uncontrolled hypertension: do not start",
                    action="Control blood pressure first",
                    source={"document": "CABOMETYX label", "section": "5.4", "url": "https://x.test"},
                    fields=["comorbidities.hypertension"],
                ),
                SafetyFinding(
                    severity="info",
                    agent="cabozantinib",
                    finding="Monitor blood pressure",
                    source={"document": "CABOMETYX label"},
                ),
            ],
        )
    ]
    cards = patient_view_cards(ev, base_url=BASE, seed="s", screens=screens)
    safety = [c for c in cards if c["source"]["topic"]["code"] == "drug-safety"]
    assert len(safety) == 1
    assert safety[0]["indicator"] == "critical"
    assert safety[0]["summary"].startswith("Cabozantinib: Uncontrolled hypertension")
    assert safety[0]["source"]["url"] == "https://x.test"
    assert "**Based on (this patient's record):** Hypertension" in safety[0]["detail"]  # the field's label
    spec_ok(safety[0])


def _screen(adjusted_mg: float | None = 40.0) -> AgentScreenView:
    return AgentScreenView(
        agent="cabozantinib",
        safety=[
            SafetyFinding(
                severity="warning",
                agent="cabozantinib",
                id="strong_cyp3a4_inhibitor",
                kind="adjustment",
                finding="Strong CYP3A4 inhibitor (clarithromycin)",
                action="Prefer another medicine; else lower the dose",
                source={
                    "document": "seed 003",
                    "section": "Drug interactions",
                    "also": [{"document": "label", "url": "https://dailymed.test/cabo"}],
                },
                fields=["medications[0]"],
            ),
            SafetyFinding(
                severity="info",
                agent="cabozantinib",
                kind="monitoring",
                finding="monitoring: calcium",
                source={"document": "seed 003"},
            ),
            SafetyFinding(
                severity="info",
                agent="cabozantinib",
                kind="not_assessed",
                finding="not assessed: comorbidities.proteinuria",
                source={"document": "seed 003"},
            ),
        ],
        dose=DoseAdvice(
            agent="cabozantinib",
            standard="60 mg once daily",
            adjusted="40 mg once daily",
            adjusted_mg=adjusted_mg,
            rules_applied=["strong_cyp3a4_inhibitor: daily dose lowered by 20 mg"],
            source={"document": "label", "url": "https://dailymed.test/cabo"},
        ),
    )


def test_order_cards_carry_the_dose_suggestion_on_the_causing_finding() -> None:
    draft = draft_cabozantinib(60)
    cards = order_cards(_screen(), draft, base_url=BASE, seed="s")
    for c in cards:
        spec_ok(c)
    interaction = cards[0]
    assert interaction["indicator"] == "warning"
    assert "CYP3A4" in interaction["summary"]
    assert interaction["source"]["url"] == "https://dailymed.test/cabo"  # the public corroboration
    (suggestion,) = interaction["suggestions"]
    assert suggestion["label"] == "Change cabozantinib dose to 40 mg"
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    assert action["resource"]["id"] == "draft-cabo"
    assert draft_dose_mg(action["resource"]) == 40
    assert action["resource"]["dosageInstruction"][0]["timing"] == draft["dosageInstruction"][0]["timing"]
    assert draft_dose_mg(draft) == 60  # the draft itself is untouched
    assert interaction["selectionBehavior"] == "at-most-one"
    assert {r["code"] for r in interaction["overrideReasons"]} >= {
        "benefit-outweighs-risk",
        "interacting-drug-stopped",
    }
    assert "isRecommended" not in suggestion  # decision support, not a directive
    info = cards[-1]
    assert info["indicator"] == "info"
    assert "1 check(s) not assessed" in info["summary"] and "1 monitoring" in info["summary"]
    assert len(cards) == 2


def test_no_suggestion_when_draft_already_at_adjusted_dose() -> None:
    cards = order_cards(_screen(), draft_cabozantinib(40), base_url=BASE, seed="s")
    assert "suggestions" not in cards[0]
    assert "already the adjusted dose" in cards[0]["detail"]


def test_dose_card_when_no_finding_carries_the_adjustment() -> None:
    screen = _screen()
    screen = screen.model_copy(update={"safety": [f for f in screen.safety if f.severity == "info"]})
    cards = order_cards(screen, draft_cabozantinib(60), base_url=BASE, seed="s")
    assert cards[0]["source"]["topic"]["code"] == "dose-adjustment"
    assert cards[0]["suggestions"][0]["actions"][0]["type"] == "update"


def test_no_dose_cards_without_adjustment() -> None:
    cards = order_cards(_screen(adjusted_mg=None), draft_cabozantinib(60), base_url=BASE, seed="s")
    assert not any("suggestions" in c for c in cards)


def test_from_screen_accepts_the_safety_module() -> None:
    safety = pytest.importorskip("netcds.safety")
    rec = patient_record(medications=["clarithromycin"])
    patient = Patient.model_validate(rec)
    raw = safety.screen_agent("cabozantinib", patient, safety.load_agents())
    view = AgentScreenView.from_screen("cabozantinib", raw)
    assert view.dose is not None and view.dose.adjusted_mg == 40
    assert any(f.id == "strong_cyp3a4_inhibitor" for f in view.safety)
    cards = order_cards(view, draft_cabozantinib(60), base_url=BASE, seed="s")
    assert (
        cards[0]["suggestions"][0]["actions"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0][
            "doseQuantity"
        ]["value"]
        == 40
    )


@pytest.mark.parametrize("meds", [["clarithromycin"], [], ["warfarin", "omeprazole"]])
def test_from_screen_reads_a_model_as_its_json(meds: list[str]) -> None:
    """The safety module's model is read by attribute (no dump); the view, its citations and the
    order cards must be exactly those built from the same screen given as JSON."""
    safety = pytest.importorskip("netcds.safety")
    patient = Patient.model_validate(patient_record(medications=meds))
    raw = safety.screen_agent("cabozantinib", patient, safety.load_agents())
    from_model = AgentScreenView.from_screen("cabozantinib", raw)
    from_json = AgentScreenView.from_screen("cabozantinib", raw.model_dump(mode="json"))
    assert from_model.model_dump(mode="json") == from_json.model_dump(mode="json")
    assert [cite(f.source) for f in from_model.safety] == [cite(f.source) for f in from_json.safety]
    assert all(cite(f.source)[0] != "source not stated" for f in from_model.safety)
    for mg in (20, 40, 60):
        draft = draft_cabozantinib(mg)
        assert order_cards(from_model, draft, base_url=BASE, seed="s") == order_cards(
            from_json, draft, base_url=BASE, seed="s"
        )


def test_summary_and_cite_helpers() -> None:
    assert len(summary_text("x " * 200)) < 140
    assert cite("Some label") == ("Some label", None)
    assert cite({"document": "D", "section": "S", "url": "https://u"}) == ("D, S", "https://u")


def test_engine_safety_critical_reaches_patient_view() -> None:
    pytest.importorskip("netcds.safety")
    ev = ev_of(comorbidities={"hypertension": "uncontrolled"})
    cards = patient_view_cards(ev, base_url=BASE, seed="s")
    critical = [c for c in cards if c["indicator"] == "critical"]
    assert len(critical) == 1
    assert critical[0]["summary"].startswith("Cabozantinib: ")
    assert "hypertension" in critical[0]["detail"]
    assert critical[0]["source"]["url"].startswith("https://")
    # the option stays listed as eligible: safety is shown beside eligibility, never inside it
    assert "Cabozantinib" in cards[0]["detail"]
    assert not [
        c for c in patient_view_cards(ev_of(), base_url=BASE, seed="s") if c["indicator"] == "critical"
    ]


UNSAFE = [
    "\u202e",
    "\u202a",
    "\u200e",
    "\u200f",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\x00",
    "\x1b",
    "\r",
    "\x7f",
]


def _texts(card: dict[str, Any]) -> list[str]:
    out = [card["summary"], card.get("detail", ""), card["source"]["label"]]
    for s in card.get("suggestions", []):
        out += [s["label"], *(a.get("description", "") for a in s.get("actions", []))]
    return out


def test_cards_strip_control_and_bidi_characters_from_record_text() -> None:
    """Text from the EHR (medication names, free-text comorbidities) reaches card details: control and
    bidirectional-override characters are removed, the words themselves kept; tab and newline stay."""
    safety = pytest.importorskip("netcds.safety")
    rec = patient_record(
        medications=["omepra\u202ezole\x1b[31m", "war\u2066far\u2069in\u200f"],
        comorbidities={"other": ["go\u0000ut\r\nflare\u202a"]},
    )
    patient = Patient.model_validate(rec)
    raw = safety.screen_agent("cabozantinib", patient, safety.load_agents())
    view = AgentScreenView.from_screen("cabozantinib", raw)
    assert any("\u202e" in f.finding for f in view.safety)  # the screen itself keeps the record's text
    cards = order_cards(view, draft_cabozantinib(60), base_url=BASE, seed="s")
    for c in cards:
        spec_ok(c)
        for text in _texts(c):
            assert not any(ch in text for ch in UNSAFE), repr(text)
    details = "\n".join(c["detail"] for c in cards)
    # (the record's "[" is escaped as Markdown: tests/api/test_card_markup.py)
    assert "omeprazole\\[31m" in details and "goutflare" not in details and "gout\nflare" in details
    assert "\n" in details


def test_patient_view_safety_card_strips_bidi_characters() -> None:
    finding = SafetyFinding(
        severity="critical",
        agent="cabozantinib",
        finding="Recent hemorrhage (recorded: \u202egnideelb\u202c \u2067melena\u2069\x07)",
        action="Do not start.\tReview.",
        source={"document": "label", "url": "https://dailymed.test/cabo"},
    )
    screen = AgentScreenView(agent="cabozantinib", safety=[finding])
    cards = patient_view_cards(ev_of(), base_url=BASE, seed="s", screens=[screen])
    (card,) = [c for c in cards if "hemorrhage" in c["summary"]]
    for text in _texts(card):
        assert not any(ch in text for ch in [*UNSAFE, "\u202c", "\x07"]), repr(text)
    assert "gnideelb melena" in card["summary"]
    assert "\t" in card["detail"]


def test_checks_not_assessed_are_one_gathering_card_raised_to_a_warning() -> None:
    """Unknown facts behind critical checks (surgery dates, bleeding, blood pressure) are warnings in the
    screen; the order cards gather them into one card, not a card per unknown fact."""
    safety = pytest.importorskip("netcds.safety")
    rec = patient_record()
    rec["comorbidities"] = {}
    raw = safety.screen_agent("cabozantinib", Patient.model_validate(rec), safety.load_agents())
    view = AgentScreenView.from_screen("cabozantinib", raw)
    unassessed = [f for f in view.safety if f.kind == "not_assessed" and f.severity == "warning"]
    assert len(unassessed) >= 2
    cards = order_cards(view, draft_cabozantinib(60), base_url=BASE, seed="s")
    gathering = [c for c in cards if "**Checks not assessed" in c["detail"]]
    assert len(gathering) == 1 and gathering[0]["indicator"] == "warning"
    for f in unassessed:
        assert sum(f.finding.split(" — ")[0] in c["summary"] for c in cards) == 0  # no card of its own
