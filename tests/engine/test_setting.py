"""Which table applies, or a clear reason why none does."""

from __future__ import annotations

import pytest

from tests.conftest import g3, gi, lung, pancreas, run


@pytest.mark.parametrize(
    ("record", "table"),
    [(gi(), "gi_wd_g12"), (lung(), "lung_thymus"), (pancreas(), "pancreas_wd_g12"), (g3(), "wd_g3")],
)
def test_each_table_selected(record, table):
    ev = run(record)
    assert ev.setting.table == table and ev.setting.status == "applies"
    assert ev.setting.source is not None and ev.setting.source.page == "NE-H"


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"tumor": {"differentiation": "poor", "grade": "G3"}}, "Poorly differentiated"),
        (
            {"disease": {"extent": "localized", "resectable": True}},
            "Resectable localized or locoregional G1/2",
        ),
        (
            {"disease": {"extent": "locoregional", "resectable": True}},
            "Resectable localized or locoregional G1/2",
        ),
        ({"tumor": {"primary_site": "unknown_primary"}}, "Unknown primary"),
        (
            {"disease": {"status": "no_evidence_of_disease", "extent": "localized", "resectable": True}},
            "No evidence of disease",
        ),
    ],
)
def test_not_applicable_with_a_clear_reason(over, needle):
    ev = run(gi(**over))
    assert ev.setting.status == "not_applicable" and ev.setting.table is None and ev.options == []
    assert any(needle in r for r in ev.setting.reasons), ev.setting.reasons
    assert ev.ssa_plan.action == "not_applicable"


@pytest.mark.parametrize("grade", ["G1", "G2"])
def test_poorly_differentiated_g1_g2_is_rejected_as_contradictory(grade):
    from netcds.errors import InputError
    from netcds.io import patient_from_obj

    with pytest.raises(InputError) as e:
        patient_from_obj(gi(tumor={"differentiation": "poor", "grade": grade}))
    assert e.value.field == "tumor.grade"


@pytest.mark.parametrize(
    ("tumor", "missing"),
    [
        (
            {"grade": None, "ki67_percent": None},
            {"tumor.grade", "tumor.ki67_percent", "tumor.mitoses_per_2mm2"},
        ),
        ({"grade": "G3", "differentiation": None}, {"tumor.differentiation"}),
    ],
)
def test_missing_grade_or_differentiation_is_needs_data(tumor, missing):
    ev = run(gi(tumor=tumor))
    assert ev.setting.status == "needs_data"
    assert missing <= set(ev.needs_data)


def test_single_candidate_setting_shows_options_as_needs_data():
    ev = run(gi(disease={"extent": "locoregional", "resectable": None}))
    assert (ev.setting.table, ev.setting.status) == ("gi_wd_g12", "needs_data")
    assert ev.setting.missing == ["disease.resectable"]
    assert ev.options and all(o.status in ("needs_data", "not_eligible") for o in ev.options)
    assert "disease.resectable" in ev.needs_data


def test_grade_derived_from_ki67_when_absent():
    ev = run(gi(tumor={"grade": None, "ki67_percent": 25}))
    assert ev.setting.table == "wd_g3"
    grade = next(d for d in ev.derived_facts if d.name == "derived.grade")
    assert grade.value == "G3" and "Ki-67 25%" in grade.why


def test_higher_of_ki67_and_mitoses_decides():
    ev = run(gi(tumor={"grade": None, "ki67_percent": 2, "mitoses_per_2mm2": 25}))
    assert ev.setting.table == "wd_g3"


def test_reasons_name_the_facts_used():
    ev = run(gi())
    text = " ".join(ev.setting.reasons)
    assert "ileum" in text and "G2" in text and "distant metastatic" in text
