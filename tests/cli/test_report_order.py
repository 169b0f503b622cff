"""The text report gives each ranked option a compact discussion line: its position (shared by options
of equal standing), why it is held back, and the factors counted for and against it."""

from __future__ import annotations

import re

import pytest
from rich.console import Console

from netcds import Patient, evaluate, load_knowledge
from netcds.report import render
from tests.conftest import gi, pancreas


def report(record: dict, verbose: bool = False) -> str:
    ev = evaluate(Patient.model_validate(record), load_knowledge())
    console = Console(width=200, record=True, color_system=None)
    for block in render(ev, verbose=verbose):
        console.print(block)
    return re.sub(r"\s+", " ", console.export_text())


def test_report_shows_shared_positions_held_back_reasons_and_factors() -> None:
    record = gi(preferences={"route": "oral"}, comorbidities={"recent_hemorrhage": True, "diabetes": True})
    text = report(record)
    # PRRT +1 (early PRRT) -1 (infusion) = 0 and everolimus +1 (oral) -1 (diabetes) = 0 share 1-2
    assert (
        "Discussion position 1-2 of 3 (shared) · for: progression_significance · against: preference" in text
    )
    assert "Discussion position 1-2 of 3 (shared) · for: preference · against: comorbidity" in text
    assert (
        "Discussion position 3 of 3 · held back: critical safety finding for cabozantinib: Recent hemorrhage "
        "· for: preference" in text
    )
    assert report(record, verbose=True).count("Discussion position") == text.count("Discussion position")


def test_not_ranked_options_get_no_position_line() -> None:
    ev = evaluate(Patient.model_validate(gi()), load_knowledge())
    ranked = [o for o in ev.options if o.discussion_rank is not None]
    assert 0 < len(ranked) < len(ev.options)
    assert report(gi()).count("Discussion position") == len(ranked)


@pytest.mark.parametrize("make", [gi, pancreas])
def test_an_entry_note_is_printed_with_its_option(make) -> None:
    """An entry's note (the GI cytotoxic entry's category 3; from 5.2024-r6 the pancreas table's
    temozolomide + capecitabine preference, left to the clinician) reaches the text report, not only
    the web page."""
    notes = [o.note for o in evaluate(Patient.model_validate(make()), load_knowledge()).options if o.note]
    text = report(make())
    assert notes and all("Note: " + " ".join(n.split()[:6]) in text for n in notes)  # the cell wraps the rest
