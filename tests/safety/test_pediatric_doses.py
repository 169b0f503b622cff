"""Age and the dose (clinical review: children under 12 were shown adult doses).

For an agent whose label establishes no dose for the patient's age, the dose is "not determined: ..." with
the age rule and its label source, never the adult dose (an age rule is a *population* rule, like the
cabozantinib weight band); an unknown age leaves the dose "not determined until recorded: age_years" (an
unknown age is never read as an adult). One case per agent whose pediatric rule is encoded, the 12 years /
40 kg boundary of cabozantinib, and the order-sign card of both situations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netcds.patient import Patient
from netcds.safety import AgentKnowledge, screen_agent, screen_regimen
from netcds.safety.adjusted_dose import NO_DOSE, gives_no_dose
from tests.safety.conftest import comorb, meds, patient

NOT_DETERMINED, PENDING = NO_DOSE[1], NO_DOSE[2]
CHILD = (
    NOT_DETERMINED + "no labelled dose under 12 years (pediatric safety and effectiveness not established)"
)
EXAMPLE = Path(__file__).parents[2] / "examples" / "patients" / "small_bowel_after_ssa.json"

# agent, age rule, youngest age with a labelled dose, the label section the rule cites
AGE_RULES: list[tuple[str, str, float, str]] = [
    ("cabozantinib", "age_under_12", 12, "Pediatric Use"),
    ("lu177_dotatate", "age_under_12", 12, "12 years and older"),
    ("everolimus", "age_under_18", 18, "NET (adult patients)"),
    ("sunitinib", "age_under_18", 18, "Pediatric Use"),
    ("lanreotide", "age_under_18", 18, "Pediatric Use"),
    ("octreotide_lar", "age_under_18", 18, "Pediatric Use"),
    ("belzutifan", "age_under_18", 18, "VHL disease, adults"),
    ("temozolomide", "age_under_18", 18, "Pediatric Use"),
    ("capecitabine", "age_under_18", 18, "Pediatric Use"),
]
IDS = [a for a, *_ in AGE_RULES]


@pytest.mark.parametrize(("agent", "rule", "labelled_from", "section"), AGE_RULES, ids=IDS)
def test_below_the_labelled_age_no_dose_is_given(agent: str, rule: str, labelled_from: float, section: str,
                                                 akb: AgentKnowledge) -> None:  # fmt: skip
    s = screen_agent(agent, patient({"age_years": labelled_from - 0.5, "weight_kg": 30}), akb)
    d = s.dose
    assert d.adjusted is not None and d.adjusted.startswith(NOT_DETERMINED) and gives_no_dose(d.adjusted)
    assert "under" in d.adjusted and str(int(labelled_from)) in d.adjusted  # the reason, in words
    assert d.adjusted_mg is None and d.adjusted_amount is None  # no amount, adult or otherwise
    assert [r.split(":")[0] for r in d.rules_applied] == [rule]
    (item,) = [i for i in s.safety if i.id == rule]
    assert item.kind == "adjustment" and item.severity == "warning" and item.fields == ["age_years"]
    assert section in item.source.section and (item.source.url or item.source.seed)  # the label source
    assert d.rule_names[rule]  # named in words on pages and cards
    # at the labelled age the rule is silent and the dose is the label's again
    older = screen_agent(agent, patient({"age_years": labelled_from, "weight_kg": 70}), akb)
    assert not [i for i in older.safety if i.id == rule] and older.dose.adjusted is None


@pytest.mark.parametrize(("agent", "rule", "labelled_from", "section"), AGE_RULES, ids=IDS)
def test_unknown_age_leaves_the_dose_open(agent: str, rule: str, labelled_from: float, section: str,
                                          akb: AgentKnowledge) -> None:  # fmt: skip
    d = screen_agent(agent, patient({"age_years": ..., "weight_kg": 70}), akb).dose
    assert d.adjusted == f"{PENDING}age_years" and d.adjusted_mg is None and d.adjusted_amount is None
    assert f"{rule}: needs age_years" in d.pending


@pytest.mark.parametrize(
    ("age", "weight", "adjusted", "mg"),
    [
        (12, 40, None, None),  # 12 years and 40 kg: the 60 mg label dose (adjusted null = the standard)
        (12, 39.9, "40 mg orally once daily", 40),  # 12 years under 40 kg: the pediatric 40 mg
        (11.99, 39.9, "not determined", None),  # under 12 years: none, whatever the weight
        (11.99, 50, "not determined", None),
        (10, 30, "not determined", None),  # the reviewed case
        (14, 35, "40 mg orally once daily", 40),
        (17.9, 39, "40 mg orally once daily", 40),
        (18, 39, None, None),  # adults: 60 mg at any weight
        (None, 70, f"{PENDING}age_years", None),  # never an assumed adult
        (None, 30, f"{PENDING}age_years", None),
        (None, None, f"{PENDING}age_years, weight_kg", None),
        (12, None, f"{PENDING}weight_kg", None),
        (10, None, "not determined", None),  # under 12 the weight would not give a dose either
    ],
)
def test_cabozantinib_12_years_40_kg_boundary(age: float | None, weight: float | None, adjusted: str | None,
                                              mg: float | None, akb: AgentKnowledge) -> None:  # fmt: skip
    over: dict[str, Any] = {"age_years": age, "weight_kg": weight}
    over = {k: ... if v is None else v for k, v in over.items()}  # ... deletes the key: unknown
    d = screen_agent("cabozantinib", patient(over), akb).dose
    if adjusted is None:
        assert d.adjusted is None and "60 mg" in d.standard
    elif adjusted == "not determined":
        assert d.adjusted == CHILD
        assert d.pending == []  # nothing left to record would give a dose
    else:
        assert d.adjusted == adjusted
    assert d.adjusted_mg == mg


@pytest.mark.parametrize(
    ("over", "starts"),
    [
        (meds("clarithromycin"), NOT_DETERMINED),  # never 60 - 20 = 40 mg for a child
        (meds("rifampin"), NOT_DETERMINED),  # nor 60 + 20 = 80 mg
        (comorb(hepatic_impairment="moderate"), NOT_DETERMINED),
        (comorb(hepatic_impairment="severe"), "avoid: "),  # the label's avoid still wins
    ],
)
def test_child_with_other_dose_rules_still_gets_no_amount(over: dict[str, Any], starts: str,
                                                          akb: AgentKnowledge) -> None:  # fmt: skip
    d = screen_agent("cabozantinib", patient({"age_years": 10, "weight_kg": 30, **over}), akb).dose
    assert d.adjusted is not None and d.adjusted.startswith(starts) and d.adjusted_mg is None
    assert any(r.startswith("age_under_12") for r in d.rules_applied) or starts == "avoid: "


def test_lu177_12_to_17_years_gets_the_labelled_activity(akb: AgentKnowledge) -> None:
    d = screen_agent("lu177_dotatate", patient({"age_years": 12, "weight_kg": 30}), akb).dose
    assert d.adjusted is None and "7.4 GBq" in d.standard


def test_regimen_of_a_child_gives_no_agent_an_adult_dose(akb: AgentKnowledge) -> None:
    rs = screen_regimen("capecitabine_temozolomide", patient({"age_years": 10, "weight_kg": 30}), akb)
    assert [d.adjusted.startswith(NOT_DETERMINED) for d in rs.doses if d.adjusted] == [True, True]


def _reviewed_child() -> Patient:
    data = json.loads(EXAMPLE.read_text())
    return Patient.model_validate({**data, "age_years": 10, "weight_kg": 30})


def test_evaluation_of_the_reviewed_child_shows_no_adult_dose() -> None:
    from netcds import evaluate, load_knowledge

    ev = evaluate(_reviewed_child(), load_knowledge())
    doses = {o.regimen: o.dose for o in ev.options if o.dose is not None}
    for regimen, standard in (("cabozantinib", "60 mg"), ("lu177_dotatate", "7.4 GBq")):
        (d,) = doses[regimen].agents
        assert standard in d.standard  # the label's dose stays visible as the standard...
        # ...but not as this patient's
        assert d.adjusted is not None and d.adjusted.startswith(NOT_DETERMINED)
        assert d.adjusted_mg is None and d.adjusted_amount is None


DRAFT = {
    "resourceType": "MedicationRequest",
    "status": "draft",
    "intent": "order",
    "medicationCodeableConcept": {"text": "cabozantinib 60 mg tablet"},
    "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 60, "unit": "mg", "code": "mg"}}]}],
}


def _cards(over: dict[str, Any]) -> list[dict[str, Any]]:
    from netcds.api.optional import screen
    from netcds.fhir.cards import order_cards

    data = json.loads(EXAMPLE.read_text())
    view = screen("cabozantinib", Patient.model_validate({**data, **over}))
    assert view is not None
    return order_cards(view, DRAFT, base_url="http://cds.example.test", seed="s")


def test_order_sign_card_for_a_child_says_no_dose_and_offers_none() -> None:
    cards = _cards({"age_years": 10, "weight_kg": 30})
    assert not any("suggestions" in c for c in cards)
    (card,) = [c for c in cards if "**Label-based dose for this patient:**" in c["detail"]]
    assert card["indicator"] == "warning" and card["summary"].startswith("Cabozantinib: Age under 12 years")
    lines = card["detail"].split("\n\n")
    (dose,) = [
        x.split(" (standard: ")[0] for x in lines if x.startswith("**Label-based dose for this patient:**")
    ]
    assert dose == f"**Label-based dose for this patient:** {CHILD}"
    assert "**Draft cabozantinib dose:** 60 mg" in lines
    assert any(x.startswith("**No dose change suggested:**") for x in lines)
    assert any(x.startswith("**Dose source:**") and "Pediatric Use" in x for x in lines)


def test_order_sign_card_for_an_unknown_age_says_the_dose_waits_for_it() -> None:
    cards = _cards({"age_years": None, "weight_kg": 70})
    assert not any("suggestions" in c for c in cards)
    (card,) = [
        c for c in cards if c["summary"] == "Cabozantinib dose: not determined until recorded: Age (years)"
    ]
    assert card["indicator"] == "warning"
    missing = "**Dose not final, data missing:** Age (years) (for the dose rule on age under 12 years)"
    # (the example's amlodipine is not screened: the medication dose rules wait on it too, review M item 1)
    assert any(x.startswith(missing) for x in card["detail"].split("\n\n"))
    # an adult with a recorded age and weight: no dose card at all for the labelled 60 mg
    assert not [c for c in _cards({"age_years": 62, "weight_kg": 68}) if "dose" in c["summary"].lower()]


# --- pembrolizumab: the label's pediatric dose is by weight (2 mg/kg, at most 200 mg, every 3 weeks) --------
@pytest.mark.parametrize(
    ("age", "weight", "adjusted", "mg"),
    [
        (10, 30, "60 mg (pediatric dose 2 mg/kg, up to 200 mg, intravenously every 3 weeks)", 60),
        (17.9, 31.25, "62.5 mg (pediatric dose 2 mg/kg, up to 200 mg, intravenously every 3 weeks)", 62.5),
        (
            16,
            100,
            "200 mg (pediatric dose 2 mg/kg, up to 200 mg, intravenously every 3 weeks)",
            200,
        ),  # at the cap
        (
            16,
            120,
            "200 mg (pediatric dose 2 mg/kg, up to 200 mg, intravenously every 3 weeks)",
            200,
        ),  # capped
        (18, 30, None, None),  # adults: the flat 200 mg (or 400 mg) whatever the weight
        (15, None, f"{PENDING}weight_kg", None),  # never the adult 200 mg for a child of unknown weight
        (None, 70, f"{PENDING}age_years", None),  # never an assumed adult
    ],
)
def test_pembrolizumab_pediatric_dose_is_by_weight(age: float | None, weight: float | None,
                                                   adjusted: str | None, mg: float | None,
                                                   akb: AgentKnowledge) -> None:  # fmt: skip
    over: dict[str, Any] = {"age_years": age, "weight_kg": weight}
    over = {k: ... if v is None else v for k, v in over.items()}
    s = screen_agent("pembrolizumab", patient(over), akb)
    d = s.dose
    assert d.adjusted == adjusted and d.adjusted_mg == mg and d.adjusted_amount == mg
    if mg is None and adjusted is None:
        assert "200 mg" in d.standard and not d.rules_applied
    elif mg is not None:
        raw = 2 * float(weight or 0)
        note = f"pediatric_weight_dose: 2 mg/kg x {weight:g} kg = {raw:g} mg"
        assert note + (", capped at 200 mg" if raw > 200 else "") in d.rules_applied
        (item,) = [i for i in s.safety if i.id == "pediatric_weight_dose"]
        assert item.kind == "adjustment" and sorted(item.fields) == ["age_years", "weight_kg"]
        assert "pediatric" in item.source.section and item.source.url
    else:
        assert d.pending == [f"pediatric_weight_dose: needs {adjusted.removeprefix(PENDING)}"]


def test_order_sign_for_a_child_ordered_the_adult_pembrolizumab_dose_suggests_the_weight_dose() -> None:
    from netcds.api.optional import screen
    from netcds.fhir.cards import order_cards

    data = json.loads(EXAMPLE.read_text())
    view = screen("pembrolizumab", Patient.model_validate({**data, "age_years": 10, "weight_kg": 30}))
    assert view is not None
    draft = {
        **DRAFT,
        "id": "draft-pembro",  # an update names the order it replaces (netcds.fhir.draft_dose.no_update_reason)
        "medicationCodeableConcept": {"text": "pembrolizumab 25 MG/ML Injectable Solution"},
        "dosageInstruction": [
            {"doseAndRate": [{"doseQuantity": {"value": 200, "unit": "mg", "code": "mg"}}]}
        ],
    }
    cards = order_cards(view, draft, base_url="http://cds.example.test", seed="s")
    (card,) = [c for c in cards if "**Label-based dose for this patient:**" in c["detail"]]
    assert "60 mg" in card["detail"] and "**Draft pembrolizumab dose:** 200 mg" in card["detail"]
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    quantity = action["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert quantity["value"] == 60 and quantity["unit"] == "mg"


@pytest.mark.parametrize(
    ("effect", "message"),
    [
        ({"per_kg": 2, "base": 40, "text": "some dose"}, "exactly one of"),
        ({"up_to": 200, "set": 100, "text": "some dose"}, "up_to caps a per_kg dose"),
    ],
)
def test_a_per_kg_effect_is_checked(effect: dict[str, Any], message: str) -> None:
    from pydantic import ValidationError

    from netcds.safety.schema import Effect

    with pytest.raises(ValidationError, match=message):
        Effect.model_validate(effect)
