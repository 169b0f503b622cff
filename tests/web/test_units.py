"""The web layer's pure parts: form <-> record, error placement, timeline geometry, what-if choices, PDF text."""

from __future__ import annotations

import json

import pytest
from starlette.datastructures import FormData

from netcds import load_knowledge
from netcds.patient import Patient
from netcds.web.evaluation_view import parse_whatif_value, whatif_fields
from netcds.web.form_data import FormState, control_for, place_errors, read_form, state_from_record, validate
from netcds.web.guideline_view import table_view
from netcds.web.pdf import latin1, summary_pdf
from netcds.web.timeline_svg import LEFT, PLOT_W, build_timeline
from tests.web.conftest import example, form_fields


def as_form(fields: dict) -> FormData:
    items = []
    for k, v in fields.items():
        items += [(k, x) for x in v] if isinstance(v, list) else [(k, v)]
    return FormData(items)


@pytest.mark.parametrize("name", ["small_bowel_after_ssa", "five_lines"])
def test_form_round_trip_keeps_the_record(name: str) -> None:
    record = example(name)
    data, state = read_form(as_form(form_fields(record)))
    patient = validate(data, state)
    assert state.error_count == 0
    assert patient == Patient.model_validate(record)


def test_unknown_false_and_empty_list_stay_distinct() -> None:
    form = as_form(
        {
            "tumor.primary_site": "ileum",
            "tumor.functional": "false",
            "tumor.fdg_avid": "",
            "tumor.syndromes:none": "1",
            "medications": "",
        }
    )
    data, state = read_form(form)
    assert data["tumor"] == {"primary_site": "ileum", "functional": False, "syndromes": []}
    assert "medications" not in data
    assert state.error_count == 0


def test_blank_rows_are_dropped_and_rows_renumbered() -> None:
    form = as_form(
        {
            "tumor.primary_site": "ileum",
            "treatments[0].agent": "",
            "treatments[3].agent": "everolimus",
            "treatments[3].start": "2024-01-01",
            "treatments[7].agent": "sunitinib",
        }
    )
    data, state = read_form(form)
    assert [t["agent"] for t in data["treatments"]] == ["everolimus", "sunitinib"]
    assert state.values["treatments[0].start"] == "2024-01-01"
    assert state.row_counts["treatments"] == 2
    data, _ = read_form(form, remove=("treatments", 3))
    assert [t["agent"] for t in data["treatments"]] == ["sunitinib"]


def test_errors_go_to_the_nearest_control() -> None:
    state = state_from_record({"tumor": {"primary_site": "ileum"}, "treatments": [{"agent": "everolimus"}]})
    assert control_for("tumor.ki67_percent", state) == "tumor.ki67_percent"
    assert control_for("treatments[0].end", state) == "treatments[0].end"
    assert control_for("tumor.syndromes[2]", state) == "tumor.syndromes"
    assert control_for("treatments[0]", state) == "treatments[0]"
    assert control_for("<patient>", state) is None
    place_errors([("tumor", "required field is missing"), ("<json>", "not valid JSON")], state)
    assert "tumor.primary_site" in state.errors
    assert state.general_errors == ["not valid JSON"]


def test_number_parse_errors_keep_the_raw_text() -> None:
    data, state = read_form(as_form({"tumor.primary_site": "ileum", "tumor.ki67_percent": "8,5"}))
    assert data["tumor"]["ki67_percent"] == 8.5
    data, state = read_form(as_form({"tumor.primary_site": "ileum", "tumor.ki67_percent": "eight"}))
    assert "ki67_percent" not in data["tumor"]
    assert state.values["tumor.ki67_percent"] == "eight"
    assert validate(data, state) is None
    assert "must be a number" in state.errors["tumor.ki67_percent"][0]


def _line(n: int, start: str | None, end: str | None, **kw: object) -> dict:
    return {"line": n, "label": f"line {n}", "start": start, "end": end, "ongoing": end is None and start is not None,
            "regimen": kw.pop("regimen", "everolimus"), "classes": kw.pop("classes", ["mtor_inhibitor"]), **kw}  # fmt: skip


def test_timeline_geometry() -> None:
    lines = [
        _line(1, "2020-01-01", "2021-01-01", regimen="ssa", classes=["somatostatin_analog"], progressed=True,
              progression_date="2020-12-01"),
        _line(2, None, None, progressed=True),
        _line(3, "2021-06-01", None),
    ]  # fmt: skip
    tl = build_timeline(lines, "2022-01-01")
    assert [b.line for b in tl.bars] == [1, 2, 3]
    first, undated, ongoing = tl.bars
    assert first.kind == "ssa" and first.dated
    assert first.x == LEFT
    assert ongoing.ongoing and round(ongoing.x + ongoing.w) == LEFT + PLOT_W  # runs to as_of, the axis end
    assert not undated.dated and undated.markers[0].dated is False
    assert first.x < first.markers[0].x < first.x + first.w  # progression inside the line
    assert "2020" in [t.label for t in tl.ticks]
    assert build_timeline(lines, "2022-01-01") == tl  # no clock, no randomness
    empty = build_timeline([], None)
    assert empty.bars == [] and "No systemic treatment" in empty.summary


def test_whatif_choices_exclude_the_current_value() -> None:
    fields = {f.path: f for f in whatif_fields({"tumor": {"primary_site": "ileum", "sstr_status": "positive"}},
                                               ["disease.status"])}  # fmt: skip
    sstr = fields["tumor.sstr_status"]
    values = [json.loads(c.value) for c in sstr.choices]
    assert "positive" not in values and "negative" in values and None in values
    assert fields["disease.status"].needs_data and not sstr.needs_data
    assert parse_whatif_value('"negative"') == "negative"
    assert parse_whatif_value("true") is True
    assert parse_whatif_value("") is None
    assert parse_whatif_value("negative") == "negative"


def test_guideline_view_keeps_the_guideline_layout() -> None:
    kb = load_knowledge()
    gi = table_view(kb, "gi_wd_g12")
    assert [t for t, _ in gi.tiers] == ["preferred", "other_recommended", "useful_in_certain_circumstances"]
    lu = next(e for e in gi.columns[0].by_tier["preferred"] if e.regimen == "lu177_dotatate")
    assert "SSTR-positive" in lu.gate and lu.category_rules
    g3 = table_view(kb, "wd_g3")
    assert g3.layout == "settings-as-columns" and len(g3.columns) == 3
    assert {f["letter"] for f in gi.footnotes} >= {"a", "b", "d"}


def test_pdf_text_is_latin1_and_complete() -> None:
    assert latin1("Ki-67 ≥ 55% – “x” → y") == 'Ki-67 >= 55% - "x" -> y'
    from netcds import evaluate

    record = example("small_bowel_after_ssa")
    ev = json.loads(evaluate(Patient.model_validate(record), load_knowledge()).model_dump_json())
    from datetime import date

    a = summary_pdf(ev, record, ev["lines_of_therapy"], None, today=date(2025, 4, 1))
    assert a.startswith(b"%PDF")


def test_state_from_an_invalid_record_shows_it_as_given() -> None:
    state = state_from_record(
        {"tumor": {"primary_site": "ileum", "ki67_percent": 150}, "medications": ["a", "b"]}
    )
    assert state.values["tumor.ki67_percent"] == "150"
    assert state.values["medications"] == "a\nb"
    assert isinstance(state, FormState)


def test_the_pdf_library_loads_with_the_first_pdf_not_with_the_app() -> None:
    """fpdf2 (with fontTools and Pillow) cost every server process ~0.4 s and ~30 MiB at start."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from netcds.api.app import create_app\n"
        "from netcds.settings import Settings\n"
        "create_app(Settings(db_url='sqlite://'))\n"
        "print('fpdf' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "False"
