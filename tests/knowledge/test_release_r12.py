"""Knowledge release 5.2024-r12: a functional tumor on an ongoing SSA course meets "hormonal symptoms".

The WD G3 favorable column and the lung/thymus table list octreotide LAR or lanreotide (and, after
progression on standard doses, the above-label doses) for SSTR-positive disease and/or hormonal symptoms.
``tumor.hormonal_symptoms`` records symptoms now, so a functional tumor whose syndrome the running SSA
controls, SSTR-negative, had all four entries ``not_eligible`` up to r11: as if the drug controlling the
syndrome were to be stopped (QA finding, MEDIUM). netcds's reading since r12: the hormonal-symptoms leg is
also met by a functional tumor (``derived.functional``) on an ongoing octreotide LAR / lanreotide course
(``derived.on_ssa``). Tested against r11, so a later release that loses the fix fails here; the
pancreatic and GI tables and everything else must be as in r11.
"""

from __future__ import annotations

from typing import Any

import pytest

from netcds import load_knowledge
from tests.conftest import g3, gi, lung, opt, pancreas, run

R11, R12 = load_knowledge("5.2024-r11"), load_knowledge("5.2024-r12")
G3_PAIR = ("g3fav.ssa", "g3fav.ssa_above_label")
LUNG_PAIR = ("lung.ssa", "lung.ssa_above_label")
CHANGED = {*G3_PAIR, *LUNG_PAIR}
FUNCTIONAL = {"functional": True, "syndromes": ["carcinoid_syndrome"], "hormonal_symptoms": False}
# a standard-dose course still being given (no end), on which the disease progressed
ONGOING = {
    "agent": "octreotide_lar",
    "dose_mg": 30,
    "interval_days": 28,
    "start": "2023-01-01",
    "progressed": True,
}
ENDED = {**ONGOING, "end": "2024-06-01", "stop_reason": "progression"}


def g3_rec(tumor: dict[str, Any] | None = None, treatments: Any = None, **disease: Any) -> dict[str, Any]:
    t = {**FUNCTIONAL, "sstr_status": "negative", **(tumor or {})}
    return g3(tumor=t, treatments=[ONGOING] if treatments is None else treatments, disease=disease)


def lung_rec(tumor: dict[str, Any] | None = None, treatments: Any = None, **disease: Any) -> dict[str, Any]:
    t = {**FUNCTIONAL, "sstr_status": "negative", **(tumor or {})}
    return lung(tumor=t, treatments=[ONGOING] if treatments is None else treatments, disease=disease)


def statuses(rec: dict[str, Any], kb: Any, ids: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    ev = run(rec, kb)
    return [(opt(ev, i).status, opt(ev, i).missing) for i in ids]


# each entry with a course that meets its other conditions: the lung/thymus standard-dose entry without
# progression on the SSA (r11 already keeps it for a functional tumor that progressed on it: footnote a)
STILL_ON = {**ONGOING, "progressed": False}
CASES = [
    ("g3fav.ssa", g3_rec, ONGOING),
    ("g3fav.ssa_above_label", g3_rec, ONGOING),
    ("lung.ssa", lung_rec, STILL_ON),
    ("lung.ssa_above_label", lung_rec, ONGOING),
]
CASE_IDS = [c[0] for c in CASES]


def status(rec: dict[str, Any], kb: Any, entry: str) -> tuple[str, list[str]]:
    o = opt(run(rec, kb), entry)
    return o.status, o.missing


@pytest.mark.parametrize(("entry", "build", "course"), CASES, ids=CASE_IDS)
def test_functional_tumor_on_an_ongoing_ssa_keeps_it(entry: str, build: Any, course: dict[str, Any]) -> None:
    rec = build(treatments=[course])
    assert status(rec, R11, entry) == ("not_eligible", [])  # the r11 gap
    o = opt(run(rec, R12), entry)
    assert o.status == "eligible" and o.missing == [], o.reasons
    assert any("functional tumor on an ongoing octreotide LAR or lanreotide course" in r for r in o.reasons)
    assert any("netcds" in r for r in o.reasons)  # said as netcds's reading, not the guideline's


@pytest.mark.parametrize("agent", ["lanreotide", "ssa"])
@pytest.mark.parametrize(("entry", "build", "course"), CASES, ids=CASE_IDS)
def test_any_octreotide_lar_or_lanreotide_id_counts(
    entry: str, build: Any, course: dict[str, Any], agent: str
) -> None:
    dose = {"dose_mg": 120} if agent == "lanreotide" else {"dose_mg": ..., "interval_days": ...}
    line = {k: v for k, v in {**course, "agent": agent, **dose}.items() if v is not ...}
    assert status(build(treatments=[line]), R12, entry) == ("eligible", [])


@pytest.mark.parametrize(("entry", "build", "course"), CASES, ids=CASE_IDS)
def test_an_ended_course_does_not_count(entry: str, build: Any, course: dict[str, Any]) -> None:
    ended = {**course, "end": "2024-06-01"} | ({"stop_reason": "progression"} if course["progressed"] else {})
    rec = build(treatments=[ended])
    assert status(rec, R12, entry) == status(rec, R11, entry) == ("not_eligible", [])


@pytest.mark.parametrize(("entry", "build", "course"), CASES, ids=CASE_IDS)
def test_a_non_functional_tumor_on_an_ongoing_ssa_gains_nothing(
    entry: str, build: Any, course: dict[str, Any]
) -> None:
    rec = build(tumor={"functional": False, "syndromes": []}, treatments=[course])
    assert status(rec, R12, entry) == status(rec, R11, entry)
    assert status(rec, R12, entry)[0] == "not_eligible"


@pytest.mark.parametrize(("build", "ids"), [(g3_rec, G3_PAIR), (lung_rec, LUNG_PAIR)], ids=["wd-g3", "lung"])
def test_an_unrecorded_treatment_history_is_named(build: Any, ids: tuple[str, ...]) -> None:
    rec = build(treatments=...)  # treatments not recorded
    # r11: not_eligible, but for the lung/thymus entry's footnote-a branch (progression on the SSA unknown)
    assert [s for s, _ in statuses(rec, R11, ids)] == [
        "needs_data" if ids == LUNG_PAIR else "not_eligible",
        "not_eligible",
    ]
    standard, above = statuses(rec, R12, ids)
    assert standard == ("needs_data", ["treatments"])
    assert above[0] == "needs_data" and "treatments" in above[1]


def test_an_unrecorded_functional_status_is_named() -> None:
    rec = g3_rec(tumor={"functional": ..., "syndromes": ...})
    o = opt(run(rec, R12), "g3fav.ssa")
    assert o.status == "needs_data" and "tumor.functional" in o.missing
    assert opt(run(rec, R11), "g3fav.ssa").status == "not_eligible"


def test_an_untested_sstr_status_no_longer_waits() -> None:
    rec = g3_rec(tumor={"sstr_status": "unknown"})
    assert statuses(rec, R11, G3_PAIR)[0] == ("needs_data", ["tumor.sstr_status"])
    assert statuses(rec, R12, G3_PAIR) == [("eligible", [])] * 2


def test_the_above_label_entry_still_needs_progression_on_standard_doses() -> None:
    unrecorded = {**ONGOING, "progressed": ...}
    rec = g3_rec(treatments=[{k: v for k, v in unrecorded.items() if v is not ...}])
    assert [s for s, _ in statuses(rec, R12, G3_PAIR)] == ["eligible", "needs_data"]


def test_footnote_a_still_stops_the_lung_ssa_for_a_non_functional_tumor() -> None:
    rec = lung_rec(tumor={"functional": False, "syndromes": [], "sstr_status": "positive"})
    assert [s for s, _ in statuses(rec, R12, LUNG_PAIR)] == ["not_eligible"] * 2


def test_pancreatic_and_gi_ssa_entries_are_unchanged() -> None:
    for build in (pancreas, gi):
        rec = build(tumor={**FUNCTIONAL, "sstr_status": "negative"}, treatments=[ONGOING])
        old, new = run(rec, R11), run(rec, R12)
        key = lambda o: (o.entry_id, o.status, o.tier, o.category, o.missing, o.reasons)  # noqa: E731
        assert [key(o) for o in new.options] == [key(o) for o in old.options]


@pytest.mark.parametrize(
    "record",
    [gi(), lung(), pancreas(), g3(), g3_rec(), lung_rec(treatments=[STILL_ON]), g3_rec(treatments=...)],
    ids=[
        "gi",
        "lung",
        "pancreas",
        "wd-g3",
        "g3-functional-on-ssa",
        "lung-functional-on-ssa",
        "g3-no-history",
    ],
)
def test_nothing_else_changed(record: dict[str, Any]) -> None:
    old, new = run(record, R11), run(record, R12)
    assert new.setting == old.setting and new.ssa_plan == old.ssa_plan
    key = lambda o: (o.entry_id, o.status, o.tier, o.category, o.missing, o.reasons)  # noqa: E731
    assert [key(o) for o in new.options if o.entry_id not in CHANGED] == [
        key(o) for o in old.options if o.entry_id not in CHANGED
    ]


def test_tables_entries_and_footnotes_equal_r11_but_the_four_ssa_entries() -> None:
    assert R12.footnotes == R11.footnotes and R12.exclusions == R11.exclusions
    assert R12.principles == R11.principles
    changed = []
    for t11, t12 in zip(R11.tables, R12.tables, strict=True):
        assert t12.applies_when == t11.applies_when
        for c11, c12 in zip(t11.columns, t12.columns, strict=True):
            assert c12.when == c11.when
            changed += [e12.id for e11, e12 in zip(c11.entries, c12.entries, strict=True) if e11 != e12]
            for e11, e12 in zip(c11.entries, c12.entries, strict=True):
                assert (e12.id, e12.regimen, e12.tier, e12.category, e12.footnotes) == (
                    e11.id,
                    e11.regimen,
                    e11.tier,
                    e11.category,
                    e11.footnotes,
                )
    assert sorted(changed) == sorted(CHANGED)
    assert (R12.release, R12.manifest.replaces) == ("5.2024-r12", "5.2024-r11")
