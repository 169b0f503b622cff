"""What-if: change named facts, see which options change status or category; bad input names the field."""

from __future__ import annotations

import pytest

from netcds import Patient, load_knowledge
from netcds.errors import InputError
from netcds.sequencing import parse_assignment, what_if
from tests.conftest import gi, pancreas
from tests.sequencing.util import OCT_STD, tx


def patient(record):
    return Patient.model_validate(record)


def test_sstr_positive_to_negative_flips_lu177_to_not_eligible():
    result = what_if(patient(gi()), load_knowledge(), {"tumor.sstr_status": "negative"})
    change = next(c for c in result.changes if c.entry_id == "gi.lu177_dotatate")
    assert (change.status_before, change.status_after) == ("eligible", "not_eligible")
    assert change.changed == ["status"]
    assert result.assignments[0].before == "positive" and result.assignments[0].after == "negative"
    assert result.setting_changed is False
    assert "gi.everolimus" not in [c.entry_id for c in result.changes]


def test_category_change_is_reported():
    p = patient(gi(treatments=[OCT_STD, tx("everolimus", "2021-07-05", "2022-01-03", progressed=True)]))
    result = what_if(p, load_knowledge(), {"treatments[1].agent": "sunitinib"})
    cabo = next(c for c in result.changes if c.entry_id == "gi.cabozantinib")
    assert (cabo.category_before, cabo.category_after) == ("1", "2A")
    assert cabo.changed == ["category"]


def test_setting_change_lists_removed_and_added_entries():
    result = what_if(patient(gi()), load_knowledge(), {"tumor.primary_site": "pancreas"})
    assert result.setting_changed
    assert (result.setting_before.table, result.setting_after.table) == ("gi_wd_g12", "pancreas_wd_g12")
    kinds = {c.entry_id: c.changed for c in result.changes}
    assert kinds["gi.everolimus"] == ["removed"] and kinds["pancreas.sunitinib"] == ["added"]


def test_unknown_value_makes_options_need_data():
    result = what_if(patient(pancreas()), load_knowledge(), {"tumor.sstr_status": None})
    lu = next(c for c in result.changes if c.entry_id == "pancreas.lu177_dotatate")
    assert lu.status_after == "needs_data"


def test_original_patient_is_not_modified():
    p = patient(gi())
    what_if(p, load_knowledge(), {"tumor.sstr_status": "negative", "preferences.priority": "response"})
    assert p.tumor.sstr_status == "positive" and p.preferences.priority is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tumor.sstr_status=positive", ("tumor.sstr_status", "positive")),
        ("tumor.fdg_avid=true", ("tumor.fdg_avid", True)),
        ("tumor.fdg_avid = false", ("tumor.fdg_avid", False)),
        ("tumor.sstr_status=null", ("tumor.sstr_status", None)),
        ("tumor.ki67_percent=12.5", ("tumor.ki67_percent", 12.5)),
        ("age_years=70", ("age_years", 70)),
        ('id="007"', ("id", "007")),
        ('medications=["metformin"]', ("medications", ["metformin"])),
    ],
)
def test_parse_assignment(text, expected):
    assert parse_assignment(text) == expected


@pytest.mark.parametrize("text", ["tumor.sstr_status", "=positive"])
def test_parse_assignment_rejects_malformed(text):
    with pytest.raises(InputError) as err:
        parse_assignment(text)
    assert err.value.field == "assignment"


@pytest.mark.parametrize(
    ("assignments", "field"),
    [
        ({"tumor.sstr_status": "maybe"}, "tumor.sstr_status"),
        ({"tumor.sstr_stat": "positive"}, "tumor.sstr_stat"),
        ({"preferences.priority": "cheapest"}, "preferences.priority"),
        ({"treatments[5].progressed": True}, "treatments[5].progressed"),
        ({"treatments[0].progressed": "yes"}, "treatments[0].progressed"),
        ({"tumor.ki67_percent": 140}, "tumor.ki67_percent"),
        ({"tumor.sstr_status.x": 1}, "tumor.sstr_status.x"),
        ({"treatments[0].end": "2022-01-01"}, "treatments[0].end"),  # end before start
    ],
)
def test_invalid_path_or_value_names_the_field(assignments, field):
    with pytest.raises(InputError) as err:
        what_if(patient(gi()), load_knowledge(), assignments)
    assert err.value.field == field
