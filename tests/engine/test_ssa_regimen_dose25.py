"""The regimen id ``ssa`` (octreotide LAR or lanreotide, not saying which) with a recorded dose or interval.

Without either it keeps its convention (the standard dose). With one recorded it is read as both agents:
the level both readings agree on (10 mg: below the standard for either), else unknown (120 mg every 28
days is above label as octreotide LAR but standard as lanreotide) -- never assumed standard. A clinical
review found ``ssa`` 10 mg every 28 days read as the standard dose, so progression on it opened the
above-label SSA entries (footnote h: progression on standard SSA doses).
"""

from __future__ import annotations

from typing import Any

import pytest

from netcds import Patient
from netcds.facts import build_facts
from netcds.history import ssa_dose_fields, ssa_dose_level
from netcds.patient import Treatment
from netcds.sequencing import build_lines, load_sequencing_data
from tests.conftest import opt, run

# the clinical review's record (p41): a functional ileal NET progressing on `ssa` 10 mg every 28 days
P41: dict[str, Any] = {
    "id": "p41",
    "as_of": "2025-06-01",
    "tumor": {
        "primary_site": "ileum",
        "differentiation": "well",
        "ki67_percent": 5,
        "functional": True,
        "syndromes": ["carcinoid_syndrome"],
        "sstr_status": "positive",
        "hormonal_symptoms": False,
    },
    "disease": {
        "extent": "distant_metastatic",
        "resectable": False,
        "small_bowel_mesenteric": False,
        "tumor_burden": "clinically_significant",
        "tumor_symptoms": False,
        "status": "progressive",
        "status_date": "2025-05-20",
        "progression_clinically_significant": True,
    },
    "biomarkers": {},
    "treatments": [
        {
            "agent": "ssa",
            "start": "2023-01-01",
            "end": "2025-05-25",
            "progressed": True,
            "progression_date": "2025-05-20",
            "stop_reason": "progression",
            "dose_mg": 10,
            "interval_days": 28,
        }
    ],
    "context": {"no_other_options_feasible": False, "no_satisfactory_alternative": False},
}


def p41(**line: Any) -> dict[str, Any]:
    """P41 with its SSA line's fields replaced (``None`` drops a field)."""
    t = {**P41["treatments"][0], **line}
    return {**P41, "treatments": [{k: v for k, v in t.items() if v is not None}]}


def level(**kw: Any) -> str | None:
    return ssa_dose_level(Treatment.model_validate({"agent": "ssa", **kw}))[0]


@pytest.mark.parametrize(
    ("dose", "interval", "want"),
    [
        (None, None, "standard"),  # the convention: recorded as standard-dose SSA, nothing says otherwise
        (10, 28, "below_standard"),  # below octreotide LAR's 20 mg and lanreotide's 120 mg
        (10, None, "below_standard"),
        (None, 56, "below_standard"),  # less often than every 4 weeks for either
        (None, 14, "above_label"),  # more often than every 4 weeks for either
        (180, 28, "above_label"),  # over both ceilings
        (10, 14, "above_label"),  # the interval decides first, as for a named agent
        (120, 28, None),  # above label as octreotide LAR, standard as lanreotide
        (30, 28, None),  # standard as octreotide LAR, below the standard as lanreotide
        (20, 28, None),
        (60, 28, None),  # above label as octreotide LAR, below the standard as lanreotide
        (120, None, None),  # above label as octreotide LAR, unknown as lanreotide
        (20, None, None),  # unknown as octreotide LAR, below the standard as lanreotide
        (None, 28, None),  # the dose is unknown for either
    ],
)
def test_ssa_regimen_dose_is_read_as_both_agents(dose, interval, want):
    assert level(dose_mg=dose, interval_days=interval) == want


def test_the_reading_says_which_agents_disagree_and_that_the_agent_is_not_recorded():
    lv, why = ssa_dose_level(Treatment.model_validate({"agent": "ssa", "dose_mg": 120, "interval_days": 28}))
    assert lv is None
    assert "above label as octreotide LAR" in why and "standard as lanreotide" in why
    assert "which SSA it was is not recorded" in why
    lv, why = ssa_dose_level(Treatment.model_validate({"agent": "ssa", "dose_mg": 10, "interval_days": 28}))
    assert lv == "below_standard" and "for either agent" in why


@pytest.mark.parametrize(
    ("t", "fields"),
    [
        ({"agent": "ssa", "dose_mg": 120, "interval_days": 28}, ("agent",)),  # both readings known, differing
        ({"agent": "ssa", "dose_mg": 120}, ("agent", "dose_mg", "interval_days")),  # one reading unknown
        ({"agent": "ssa", "interval_days": 28}, ("dose_mg", "interval_days")),  # unknown for either agent
        ({"agent": "lanreotide", "dose_mg": 120}, ("dose_mg", "interval_days")),
    ],
)
def test_what_would_settle_an_unknown_level(t, fields):
    """history.ssa_dose_fields: which SSA it was where the readings differ (for facts.progressed_on)."""
    assert ssa_dose_fields(Treatment.model_validate(t)) == fields


def test_named_agents_are_unchanged():
    def named(agent: str, **kw: Any) -> str | None:
        return ssa_dose_level(Treatment.model_validate({"agent": agent, **kw}))[0]

    assert named("octreotide_lar", dose_mg=10, interval_days=28) == "below_standard"
    assert named("octreotide_lar", dose_mg=120, interval_days=28) == "above_label"
    assert named("lanreotide", dose_mg=120, interval_days=28) == "standard"
    assert named("lanreotide", interval_days=28) is None
    assert named("ssa_above_label", dose_mg=10, interval_days=56) == "above_label"


def test_progression_on_ssa_regimen_below_standard_is_not_progression_on_standard_ssa():
    f = build_facts(Patient.model_validate(P41))
    assert f.get("derived.progressed_on_ssa") is True
    assert f.get("derived.progressed_on_standard_ssa") is False
    ev = run(P41)
    assert opt(ev, "gi.ssa_above_label").status == "not_eligible"
    # as the same line recorded as octreotide LAR 10 mg reads
    octreotide = run(p41(agent="octreotide_lar"))
    assert opt(octreotide, "gi.ssa_above_label").status == "not_eligible"


def test_an_ssa_regimen_without_dose_keeps_the_standard_dose_convention():
    f = build_facts(Patient.model_validate(p41(dose_mg=None, interval_days=None)))
    assert f.get("derived.progressed_on_standard_ssa") is True
    assert opt(run(p41(dose_mg=None, interval_days=None)), "gi.ssa_above_label").status == "eligible"


def test_conflicting_readings_leave_progression_on_standard_ssa_unknown_and_named():
    rec = p41(dose_mg=120)  # 120 mg every 28 days: octreotide LAR above label, lanreotide standard
    f = build_facts(Patient.model_validate(rec))
    assert f.get("derived.progressed_on_standard_ssa") is None
    o = opt(run(rec), "gi.ssa_above_label")
    assert o.status == "needs_data"
    assert o.missing == ["treatments[0].agent"]


def test_the_line_of_therapy_reads_the_same_level():
    data = load_sequencing_data()
    (line,) = build_lines(Patient.model_validate(P41), data)
    assert line.ssa_dose_level == "below_standard"
    assert line.members[0].ssa_dose_level == "below_standard"
    (line,) = build_lines(Patient.model_validate(p41(dose_mg=120)), data)
    assert line.ssa_dose_level is None
    assert "which SSA it was is not recorded" in (line.members[0].ssa_dose_basis or "")
    assert any("which SSA it was is not recorded" in n for n in line.notes)
    assert not any("not recorded: dose level unknown" in n for n in line.notes)
