"""History contradictions the Patient model rejects, each naming its field."""

from __future__ import annotations

from netcds.errors import InputError
from netcds.io import patient_from_obj
from tests.conftest import gi
from tests.sequencing.util import OCT_STD, tx


def first_problem(**over) -> tuple[str, str] | None:
    try:
        patient_from_obj(gi(**over))
    except InputError as e:
        return e.field, e.message
    return None


def test_clean_history_has_no_problem():
    assert first_problem(treatments=[OCT_STD], as_of="2024-01-01") is None


def test_dates_after_as_of_are_named():
    assert first_problem(as_of="2021-01-01", treatments=[OCT_STD]) == (
        "treatments[0].end",
        "is after as_of (2021-01-01)",
    )


def test_pd_with_progressed_false():
    found = first_problem(
        treatments=[tx("everolimus", "2022-01-01", None, best_response="PD", progressed=False)]
    )
    assert found == ("treatments[0].best_response", "is PD but progressed is false")


def test_duplicated_overlapping_line():
    found = first_problem(
        treatments=[tx("everolimus", "2022-01-01", "2022-06-01"), tx("everolimus", "2022-03-01", None)]
    )
    assert found is not None and found[0] == "treatments[1]" and "overlaps treatments[0]" in found[1]
    touching = first_problem(
        treatments=[tx("everolimus", "2022-01-01", "2022-06-01"), tx("everolimus", "2022-06-01", None)]
    )
    assert touching is None


def test_assessment_conflicts():
    same_day = first_problem(
        as_of="2024-07-01",
        assessments=[
            {"date": "2023-06-01", "sum_of_diameters_mm": 40},
            {"date": "2023-06-01", "sum_of_diameters_mm": 44},
        ],
    )
    assert same_day is not None and same_day[0] == "assessments[1].date"
    future = first_problem(
        as_of="2024-07-01", assessments=[{"date": "2024-08-01", "sum_of_diameters_mm": 44}]
    )
    assert future == ("assessments[0].date", "is after as_of (2024-07-01)")
