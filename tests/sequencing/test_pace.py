"""Pace of progression: recorded, derived from measurements (netcds convention), or not assessed."""

from __future__ import annotations

import pytest

from netcds import Patient
from netcds.sequencing import load_sequencing_data, progression_pace
from tests.conftest import gi


def pace(**over):
    return progression_pace(Patient.model_validate(gi(**over)), load_sequencing_data().conventions)


def sod(*pairs):
    return [{"date": d, "sum_of_diameters_mm": v} for d, v in pairs]


def test_recorded_pace_is_used_as_is():
    p = pace(disease={"progression_pace": "slow"})
    assert p.value == "slow"
    assert p.derived_from == "disease.progression_pace"
    assert "recorded by the clinician" in p.rule


@pytest.mark.parametrize(
    ("later_mm", "expected"),
    [
        (120, "rapid"),  # +20 % in 6 months = 3.3 %/month
        (110, "moderate"),  # +10 % in 6 months = 1.7 %/month
        (103, "slow"),  # +3 % in 6 months = 0.5 %/month
        (95, "slow"),  # shrinking: no growth since the nadir
    ],
)
def test_pace_derived_from_growth_of_the_sum_of_diameters(later_mm, expected):
    p = pace(assessments=sod(("2024-01-01", 100), ("2024-07-02", later_mm)))
    assert p.value == expected
    assert p.derived_from == "assessments"
    assert "%/month" in p.rule and "->" in p.rule
    assert "not guideline content" in p.convention


def test_growth_is_measured_from_the_nadir_not_the_first_scan():
    p = pace(assessments=sod(("2024-01-01", 120), ("2024-04-01", 80), ("2024-07-01", 96)))
    assert [m.sum_of_diameters_mm for m in p.measurements] == [80, 96]
    assert p.growth_percent_per_month == pytest.approx(6.6, abs=0.1)
    assert p.value == "rapid"


def test_not_assessed_names_the_fields_when_too_few_measurements():
    p = pace(assessments=sod(("2024-01-01", 100)))
    assert p.value is None and p.derived_from is None
    assert p.missing == ["disease.progression_pace", "assessments"]
    assert p.rule.startswith("not assessed")
    assert pace().value is None


def test_recorded_pace_wins_and_a_disagreeing_measurement_is_shown():
    p = pace(disease={"progression_pace": "slow"}, assessments=sod(("2024-01-01", 100), ("2024-04-01", 130)))
    assert p.value == "slow"
    assert "would read rapid" in p.rule


def test_zero_nadir_gives_no_rate():
    p = pace(assessments=sod(("2024-01-01", 0), ("2024-04-01", 12)))
    assert p.value is None and "0 mm" in p.rule


def test_same_day_measurements_give_no_rate():
    p = pace(assessments=sod(("2024-01-01", 50), ("2024-01-01", 50)))
    assert p.value is None


def test_same_day_measurements_that_disagree_are_rejected():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"assessments\[1\]\.date: same date"):
        pace(assessments=sod(("2024-01-01", 50), ("2024-01-01", 60)))
