"""SSA dose levels of a line: standard, above label, or below the standard (footnote e's dose and
4-weekly schedule not reached), and what the line says of it."""

from __future__ import annotations

import pytest

from netcds import Patient
from netcds.history import ssa_dose_level
from netcds.patient import Treatment
from netcds.sequencing import build_lines, load_sequencing_data
from tests.conftest import gi
from tests.sequencing.util import tx


def _line(**kw):
    p = Patient.model_validate(
        gi(treatments=[tx("lanreotide", "2022-01-10", "2023-01-09", progressed=True, **kw)])
    )
    (line,) = build_lines(p, load_sequencing_data())
    return line


@pytest.mark.parametrize(
    ("agent", "dose", "interval", "level"),
    [
        ("octreotide_lar", 20, 28, "standard"),
        ("octreotide_lar", 30, 35, "standard"),
        ("octreotide_lar", 19.5, 28, "below_standard"),
        ("octreotide_lar", 30.5, 28, "above_label"),
        ("octreotide_lar", 10, 14, "above_label"),  # more often than every 4 weeks decides first
        ("lanreotide", 120, 28, "standard"),
        ("lanreotide", 90, 28, "below_standard"),
        ("lanreotide", 120, 42, "below_standard"),
        ("lanreotide", 120, 14, "above_label"),
        ("lanreotide", None, 56, "below_standard"),
        ("lanreotide", 120, None, None),  # the interval could still make it either
        ("lanreotide", None, 28, None),
    ],
)
def test_ssa_dose_level(agent, dose, interval, level):
    t = Treatment.model_validate(
        {"agent": agent, "dose_mg": dose, "interval_days": interval, "start": "2022-01-10"}
    )
    assert ssa_dose_level(t)[0] == level


def test_a_line_below_the_standard_says_so_and_is_not_called_unrecorded():
    line = _line(dose_mg=120, interval_days=56)
    assert line.ssa_dose_level == "below_standard"
    assert "(below the standard dose)" in line.label
    assert not any("not recorded" in n for n in line.notes)
    assert _line(dose_mg=120, interval_days=28).ssa_dose_level == "standard"
    assert _line(dose_mg=120).ssa_dose_level is None
