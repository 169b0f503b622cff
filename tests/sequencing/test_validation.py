"""History contradictions the Patient model should reject (proposed for patient.py), each with its field."""

from __future__ import annotations

from netcds import Patient
from netcds.sequencing.validation import history_problems
from tests.conftest import gi
from tests.sequencing.util import OCT_STD, tx


def problems(**over):
    return history_problems(Patient.model_validate(gi(**over)))


def test_clean_history_has_no_problem():
    assert problems(treatments=[OCT_STD], as_of="2024-01-01") == []


def test_dates_after_as_of_are_named():
    found = problems(as_of="2021-01-01", treatments=[OCT_STD])
    assert [f for f, _ in found] == ["treatments[0].end", "treatments[0].progression_date"]


def test_pd_with_progressed_false():
    found = problems(treatments=[tx("everolimus", "2022-01-01", None, best_response="PD", progressed=False)])
    assert found == [("treatments[0].best_response", "is PD but progressed is false")]


def test_duplicated_overlapping_line():
    found = problems(
        treatments=[tx("everolimus", "2022-01-01", "2022-06-01"), tx("everolimus", "2022-03-01", None)]
    )
    assert found and found[0][0] == "treatments[1]" and "overlaps treatments[0]" in found[0][1]
    touching = problems(
        treatments=[tx("everolimus", "2022-01-01", "2022-06-01"), tx("everolimus", "2022-06-01", None)]
    )
    assert touching == []


def test_assessment_conflicts():
    found = problems(
        as_of="2024-07-01",
        assessments=[
            {"date": "2023-06-01", "sum_of_diameters_mm": 40},
            {"date": "2023-06-01", "sum_of_diameters_mm": 44},
            {"date": "2024-08-01", "sum_of_diameters_mm": 44},
        ],
    )
    assert [f for f, _ in found] == ["assessments[1].date", "assessments[2].date"]
