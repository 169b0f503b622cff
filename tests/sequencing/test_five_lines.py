"""The five-line small-bowel example: evaluated correctly, readable, and pinned by a golden file.

Regenerate the golden file after an intended change (then review the diff)::

    NETCDS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/sequencing/test_five_lines.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from netcds import Patient, evaluate, load_knowledge
from netcds.facts import build_facts
from netcds.sequencing import annotate, render_timeline

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "patients" / "five_lines.json"
GOLDEN = Path(__file__).resolve().parent / "golden" / "five_lines.sequencing.json"


@pytest.fixture(scope="module")
def case():
    patient = Patient.model_validate_json(EXAMPLE.read_text(encoding="utf-8"))
    ev = evaluate(patient, load_knowledge())
    return patient, ev, annotate(ev, patient, build_facts(patient))


def test_golden(case):
    _, _, result = case
    text = result.model_dump_json(indent=2) + "\n"
    if os.environ.get("NETCDS_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.exists(), "golden file missing: run with NETCDS_UPDATE_GOLDEN=1"
    assert json.loads(text) == json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_five_lines_in_order_with_durations_and_stops(case):
    _, _, r = case
    lines = r.lines_of_therapy
    assert [ln.regimen for ln in lines] == [
        "ssa",
        "ssa_above_label",
        "lu177_dotatate",
        "everolimus",
        "capecitabine_temozolomide",
    ]
    assert [ln.stop_reason for ln in lines] == [
        "progression",
        "progression",
        "completed",
        "toxicity",
        "progression",
    ]
    assert [ln.progression_type for ln in lines] == [
        "radiographic",
        "symptomatic",
        "radiographic",
        None,
        "radiographic",
    ]
    assert [ln.duration_months for ln in lines] == [23.5, 8.7, 5.5, 3.2, 7.6]
    assert lines[2].durability.months == 28.1 and lines[2].best_response == "PR"
    by = {e.agent: e for e in r.history.cumulative_exposures}
    assert by["lu177_dotatate"].estimated_administrations == 4


def test_five_lines_history_facts(case):
    _, _, r = case
    h = r.history
    assert h.progressed_on_standard_ssa is True and h.progressed_on_above_label_ssa is True
    assert [x.line for x in h.myelosuppressive_lines] == [3, 5]
    assert [x.line for x in h.stopped_for_toxicity] == [4]
    assert r.progression_pace.value == "rapid" and r.progression_pace.derived_from == "assessments"


def test_five_lines_options_keep_their_guideline_status_with_history(case):
    _, ev, r = case
    status = {o.entry_id: (o.status, o.category) for o in ev.options}
    assert status["gi.cabozantinib"] == ("eligible", "1")
    assert status["gi.lu177_dotatate"] == ("eligible", "1")
    assert status["gi.everolimus"] == ("eligible", "1")
    cabo = r.for_option("gi.cabozantinib").history
    assert [ln.line for ln in cabo.category_triggers[0].lines] == [3, 4]
    evero = r.for_option("gi.everolimus")
    assert evero.history.stopped_for_toxicity is True
    assert {"comorbidity.diabetes.everolimus", "cumulative_toxicity.stopped_same_regimen"} <= {
        c.rule_id for c in evero.considerations
    }
    prrt = r.for_option("gi.lu177_dotatate")
    assert prrt.history.lines == [3]
    assert "cumulative_toxicity.myelosuppressive_before_prrt" in {c.rule_id for c in prrt.considerations}
    assert r.for_option("gi.cytotoxic_chemotherapy").history.lines == [5]


def test_timeline_renders_one_row_per_line(case):
    _, _, r = case
    console = Console(record=True, width=200)
    table = render_timeline(r.lines_of_therapy)
    assert table.row_count == 5
    console.print(table)
    out = console.export_text()
    for text in (
        "Lu-177 dotatate (PRRT)",
        "capecitabine + temozolomide (CAPTEM)",
        "above-label",
        "toxicity",
        "symptomatic",
        "28.1 mo",
    ):
        assert text in out


def test_empty_timeline_says_so():
    console = Console(record=True, width=120)
    console.print(render_timeline([]))
    assert "no systemic treatment recorded" in console.export_text()
