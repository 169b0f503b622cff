"""Progression on octreotide LAR or lanreotide at a dose outside the standard (session 42): the above-label
entry stays not eligible (footnote h speaks of progression on standard doses), and its failing fact now
says where the progression was recorded and at what dose, instead of only "no progression on standard
doses", which read as if the record held no progression at all."""

from __future__ import annotations

import pytest

from tests.conftest import gi, opt, run

MINOR = {"progression_clinically_significant": False}  # footnote a does not call for stopping the SSA


def _line(agent: str, dose: float, interval: float = 28) -> dict:
    return {"agent": agent, "dose_mg": dose, "interval_days": interval, "start": "2023-01-01",
            "end": "2024-06-01", "progressed": True, "stop_reason": "progression"}  # fmt: skip


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (_line("octreotide_lar", 40), "octreotide LAR 40 mg exceeds the standard 30 mg"),
        (_line("octreotide_lar", 10), "octreotide LAR from 2023-01-01"),
        (_line("lanreotide", 120, 14), "lanreotide from 2023-01-01"),
    ],
)
def test_progression_at_another_dose_level_is_named(line: dict, words: str) -> None:
    o = opt(run(gi(treatments=[line], disease=MINOR)), "gi.ssa_above_label")
    assert o.status == "not_eligible"
    failing = [r for r in o.reasons if r.startswith("Not met: progression on standard SSA doses")]
    assert failing and "progression recorded at a dose level other than standard" in failing[0]
    assert words in failing[0]


def test_progression_at_the_standard_dose_is_unchanged() -> None:
    o = opt(run(gi(treatments=[_line("octreotide_lar", 30)], disease=MINOR)), "gi.ssa_above_label")
    assert o.status == "eligible"


def test_no_progression_at_all_keeps_the_plain_words() -> None:
    line = _line("octreotide_lar", 40) | {"progressed": False, "stop_reason": "toxicity"}
    o = opt(run(gi(treatments=[line], disease=MINOR)), "gi.ssa_above_label")
    failing = [r for r in o.reasons if r.startswith("Not met: progression on standard SSA doses")]
    assert failing and "dose level other than" not in failing[0]
    assert "no progression on standard-dose octreotide LAR/lanreotide in the recorded history" in failing[0]
