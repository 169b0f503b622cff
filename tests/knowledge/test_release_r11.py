"""Knowledge release 5.2024-r11: footnote a keeps the lung/thymus SSA for a functional tumor on progression.

The lung/thymus table lists octreotide LAR or lanreotide for SSTR-positive disease and/or hormonal symptoms,
and prints footnote a (on clinically significant progression, stop the SSA for a non-functional tumor and keep
it for a functional one). Up to r10 the entry read only the SSTR status and ``tumor.hormonal_symptoms``
(symptoms now), so a functional tumor whose syndrome is controlled, SSTR-negative or untested, that progressed
on the SSA had the entry ``not_eligible`` while the same evaluation's SSA plan said continue (QA, session 38).
Tested against r10, so a later release that loses the fix fails here; everything else must be as in r10.
"""

from __future__ import annotations

from typing import Any

import pytest

from netcds import load_knowledge
from tests.conftest import g3, gi, lung, opt, pancreas, run

R10, R11 = load_knowledge("5.2024-r10"), load_knowledge("5.2024-r11")
OCTREOTIDE = {"agent": "octreotide_lar", "start": "2023-01-01"}


def functional_lung(sstr: str | None, progressed: bool | None, **tumor: Any) -> dict[str, Any]:
    t = {
        "functional": True,
        "syndromes": ["carcinoid_syndrome"],
        "hormonal_symptoms": False,
        "sstr_status": sstr,
    }
    return lung(tumor={**t, **tumor}, treatments=[{**OCTREOTIDE, "progressed": progressed}])


@pytest.mark.parametrize("sstr", ["negative", "unknown", None])
def test_functional_tumor_that_progressed_on_the_ssa_keeps_it(sstr: str | None) -> None:
    rec = functional_lung(sstr, True)
    old, new = run(rec, R10), run(rec, R11)
    assert old.ssa_plan.action == new.ssa_plan.action == "continue"
    assert opt(old, "lung.ssa").status == (
        "not_eligible" if sstr == "negative" else "needs_data"
    )  # the r10 gap
    o = opt(new, "lung.ssa")
    assert o.status == "eligible" and o.missing == []
    assert any("functional tumor that progressed" in r for r in o.reasons), o.reasons


def test_unrecorded_progression_on_the_ssa_waits_for_it() -> None:
    o = opt(run(functional_lung("negative", None), R11), "lung.ssa")
    assert o.status == "needs_data" and o.missing == ["treatments[0].progressed"]


def test_no_progression_on_the_ssa_is_not_footnote_a() -> None:
    o = opt(run(functional_lung("negative", False), R11), "lung.ssa")
    assert o.status == "not_eligible"


def test_a_non_functional_tumor_gains_nothing() -> None:
    rec = lung(
        tumor={"sstr_status": "negative", "hormonal_symptoms": False},
        treatments=[{**OCTREOTIDE, "progressed": True}],
    )
    assert opt(run(rec, R11), "lung.ssa").status == opt(run(rec, R10), "lung.ssa").status == "not_eligible"


def test_an_unrecorded_functional_status_is_named() -> None:
    rec = lung(tumor={"functional": ..., "sstr_status": "negative", "hormonal_symptoms": False})
    o = opt(run(rec, R11), "lung.ssa")
    assert o.status == "needs_data" and "tumor.functional" in o.missing


def test_the_above_label_entry_keeps_its_own_qualifier() -> None:
    rec = functional_lung("negative", True)
    rec["treatments"][0].update(dose_mg=30, interval_days=28)  # standard dose
    old, new = run(rec, R10), run(rec, R11)
    assert opt(new, "lung.ssa_above_label").status == "not_eligible"  # SSTR-negative, no symptoms now
    assert [o for o in new.options if o.entry_id == "lung.ssa_above_label"] == [
        o for o in old.options if o.entry_id == "lung.ssa_above_label"
    ]


@pytest.mark.parametrize(
    "record",
    [gi(), lung(), pancreas(), g3(), pancreas(tumor={"functional": True}), functional_lung("negative", True)],
    ids=["gi", "lung", "pancreas", "wd-g3", "pancreas-functional", "lung-functional"],
)
def test_nothing_else_changed(record: dict[str, Any]) -> None:
    old, new = run(record, R10), run(record, R11)
    assert new.setting == old.setting and new.ssa_plan == old.ssa_plan
    key = lambda o: (o.entry_id, o.status, o.tier, o.category, o.missing, o.reasons)  # noqa: E731
    assert [key(o) for o in new.options if o.entry_id != "lung.ssa"] == [
        key(o) for o in old.options if o.entry_id != "lung.ssa"
    ]


def test_tables_entries_and_footnotes_equal_r10_but_lung_ssa() -> None:
    assert R11.footnotes == R10.footnotes and R11.exclusions == R10.exclusions
    assert R11.principles == R10.principles
    for t10, t11 in zip(R10.tables, R11.tables, strict=True):
        assert t11.applies_when == t10.applies_when
        for c10, c11 in zip(t10.columns, t11.columns, strict=True):
            changed = [
                (e10.id, e11.id) for e10, e11 in zip(c10.entries, c11.entries, strict=True) if e10 != e11
            ]
            assert changed == ([("lung.ssa", "lung.ssa")] if t11.id == "lung_thymus" else [])
    assert (R11.release, R11.manifest.replaces) == ("5.2024-r11", "5.2024-r10")
