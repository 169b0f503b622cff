"""The patient-view options card says which eligible option is held back and why (clinical QA, session 37).

The card carried the sequencing statement ("... from the considerations shown for this patient") but
showed none: cabozantinib with a recent hemorrhage, uncontrolled hypertension and severe hepatic impairment
read as a plain "Cabozantinib (category 1)" among the preferred options, while the CLI said it was held
back for those critical findings. Each eligible option now carries "held back: <reasons>" as the CLI's
order line says it (``sequencing.ordering.held_back_words``), the status staying the guideline's, and the
statement says the card shows only these (``option_cards.CARD_SHOWS``). A history reason whose colon is
inside parentheses is kept whole (it had been cut to an unbalanced "yes (line 2 ... (dates)").
"""

from __future__ import annotations

from typing import Any

from netcds import Patient, evaluate, load_knowledge
from netcds.fhir.option_cards import CARD_SHOWS, options_card
from netcds.sequencing.ordering import held_back_words

BASE = "http://cds.example.test"
RECORD: dict[str, Any] = {
    "as_of": "2025-06-01", "age_years": 64, "sex": "female", "pregnant": False, "breastfeeding": False,
    "tumor": {"primary_site": "pancreas", "differentiation": "well", "grade": "G2", "ki67_percent": 9,
              "functional": False, "syndromes": [], "hormonal_symptoms": False, "sstr_status": "positive"},
    "disease": {"extent": "distant_metastatic", "resectable": False, "tumor_burden": "clinically_significant",
                "status": "progressive", "status_date": "2025-05-01", "progression_clinically_significant": True},
    "biomarkers": {"germline_vhl": False},
    "comorbidities": {"recent_hemorrhage": True, "hypertension": "uncontrolled", "hepatic_impairment": "severe"},
    "medications": [],
    "treatments": [
        {"agent": "lanreotide", "dose_mg": 120, "interval_days": 28, "start": "2023-01-01", "end": "2023-12-01",
         "progressed": True, "progression_date": "2023-11-15", "stop_reason": "progression"},
        {"agent": "lu177_dotatate", "start": "2024-01-01", "end": "2024-07-01", "progressed": True,
         "progression_date": "2025-05-01", "stop_reason": "completed"},
    ],
}  # fmt: skip


def _entries(detail: str) -> dict[str, str]:
    """Each eligible option's words on the card, by label (split at top-level '; ')."""
    [line] = [ln for ln in detail.splitlines() if ln.startswith("- *Preferred:*")]
    text, out, depth, start = line.removeprefix("- *Preferred:* "), {}, 0, 0
    for i, ch in enumerate(text + ";"):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and ch == ";":
            part = text[start:i].strip()
            out[part.split(" (", 1)[0]] = part
            start = i + 1
    return out


def test_held_back_options_say_why_on_the_card() -> None:
    ev = evaluate(Patient.model_validate(RECORD), load_knowledge())
    card = options_card(ev, BASE, None)
    entries = _entries(card["detail"])
    cabo = entries["Cabozantinib"]
    assert "category 1; held back: critical safety finding for cabozantinib:" in cabo
    for situation in ("Recent hemorrhage", "Uncontrolled hypertension", "Severe hepatic impairment"):
        assert situation in cabo
    lu = entries["PRRT with lutetium Lu 177 dotatate"]
    assert "held back: disease progression recorded on this regimen" in lu
    assert lu.count("(") == lu.count(")")  # the history reason is kept whole
    assert "progression on 2025-05-01" in lu
    assert "held back" not in entries["Sunitinib"]  # nothing holds it back: nothing said
    status = {o.label: o.status for o in ev.options}
    assert status["Cabozantinib"] == "eligible"  # the guideline's status is unchanged
    assert CARD_SHOWS.strip() in card["detail"]


def test_held_back_words_keep_a_parenthesised_colon() -> None:
    reason = (
        "disease progression recorded: yes (line 2 X (2024-01-01 to 2024-07-01): progression on 2025-05-01)"
    )
    assert held_back_words(reason) == reason
    safety = "critical safety finding for cabozantinib: Recent hemorrhage: do not give"
    assert held_back_words(safety) == "critical safety finding for cabozantinib: Recent hemorrhage"


def test_a_line_recorded_as_ssa_is_named_in_words() -> None:
    """A line recorded with the regimen id ``ssa`` (the record does not say which SSA) was printed
    "currently on ssa" in the SSA plan; it is "octreotide LAR or lanreotide" (field_labels.AGENT_NAMES)."""
    rec = {
        **RECORD,
        "comorbidities": {},
        "treatments": [
            {"agent": "ssa", "start": "2024-01-01", "progressed": True, "progression_date": "2025-05-01"}
        ],
    }
    ev = evaluate(Patient.model_validate(rec), load_knowledge())
    words = " ".join(ev.ssa_plan.reasons)
    assert "currently on octreotide LAR or lanreotide" in words and "on ssa" not in words
