"""Knowledge release 5.2024-r13 (QA session 41).

1. The lung/thymus row counts as symptomatic a functional tumor on an ongoing octreotide LAR / lanreotide
   course (the reading r12 gave the table's SSA entries): a functional typical carcinoid with mild, stable
   disease, controlled by the SSA it is on, fell outside the table up to r12 (``lung_thymus_outside_row``),
   so the drug controlling its syndrome lost its listing.
2. The WD G3 neoadjuvant entries for resectable unfavorable disease say they are listed case by case (the
   clinician's choice, Ki-67 >= 55 % the guideline's example) instead of "listed ... without a
   patient-specific condition"; their status, tier and category are unchanged.

Tested against r12, so a later release that loses a fix fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from netcds import load_knowledge
from tests.conftest import g3, lung, opt, run

R12, R13 = load_knowledge("5.2024-r12"), load_knowledge("5.2024-r13")
ON_SSA = {
    "agent": "lanreotide",
    "dose_mg": 120,
    "interval_days": 28,
    "start": "2024-01-01",
    "progressed": False,
}
STOPPED = {**ON_SSA, "end": "2024-12-01", "stop_reason": "patient_choice"}
NEOADJUVANT = (
    "g3res.cisplatin_etoposide",
    "g3res.carboplatin_etoposide",
    "g3res.folfox",
    "g3res.capeox",
    "g3res.temozolomide_pm_capecitabine",
)


def controlled(functional: bool | None = True, treatments: Any = ..., **tumor: Any) -> dict[str, Any]:
    """Distant typical lung carcinoid, mild burden, stable, no symptoms now, on lanreotide."""
    t: dict[str, Any] = {"lung_subtype": "typical_carcinoid", "functional": functional, "hormonal_symptoms": False,
                         "sstr_status": "positive", **tumor}  # fmt: skip
    if functional:
        t["syndromes"] = ["carcinoid_syndrome"]
    else:
        t["syndromes"] = ...
    d = {
        "tumor_burden": "mild",
        "tumor_symptoms": False,
        "status": "stable",
        "progression_clinically_significant": ...,
    }
    return lung(tumor=t, disease=d, treatments=[ON_SSA] if treatments is ... else treatments)


def test_a_functional_carcinoid_controlled_on_its_ssa_is_in_the_lung_row() -> None:
    rec = controlled()
    old, new = run(rec, R12), run(rec, R13)
    assert old.setting.status == "not_applicable" and old.options == []
    assert new.setting.status == "applies"
    assert opt(new, "lung.ssa").status == "eligible"
    assert any(
        "functional tumor on an ongoing octreotide LAR or lanreotide course" in r for r in new.setting.reasons
    )


@pytest.mark.parametrize(
    ("functional", "treatments"),
    [(False, [ON_SSA]), (True, [STOPPED]), (True, [])],
    ids=["non-functional", "course-stopped", "no-course"],
)
def test_without_a_running_course_of_a_functional_tumor_the_row_is_as_before(
    functional: bool, treatments: list[dict[str, Any]]
) -> None:
    rec = controlled(functional, treatments)
    old, new = run(rec, R12), run(rec, R13)
    assert old.setting.status == new.setting.status == "not_applicable"


def test_an_unrecorded_history_is_named_not_read_as_no_course() -> None:
    rec = controlled(True, None)
    rec.pop("treatments", None)
    ev = run(rec, R13)
    assert ev.setting.status == "needs_data" and "treatments" in ev.setting.missing
    assert run(rec, R12).setting.status == "not_applicable"


def test_the_neoadjuvant_entries_say_case_by_case_and_keep_status_tier_and_category() -> None:
    rec = g3(tumor={"ki67_percent": 30}, disease={"extent": "localized", "resectable": True, "status": "stable",
                                                  "biology": "unfavorable"})  # fmt: skip
    old, new = run(rec, R12), run(rec, R13)
    for entry in NEOADJUVANT:
        a, b = opt(old, entry), opt(new, entry)
        assert (
            (a.status, a.tier, a.category)
            == (b.status, b.tier, b.category)
            == (b.status, "listed", b.category)
        )
        assert "without a patient-specific condition" in a.reasons[0]
        assert "case by case" in b.reasons[0] and "Ki-67 of 55 %" in b.reasons[0]
    assert opt(new, "g3res.clinical_trial").reasons == opt(old, "g3res.clinical_trial").reasons


def test_nothing_else_differs_from_r12() -> None:
    """The other tables' data are as in r12 (same entries, conditions and texts)."""
    for t12, t13 in zip(R12.tables, R13.tables, strict=True):
        if t12.id == "lung_thymus":
            assert [c.entries for c in t12.columns] == [c.entries for c in t13.columns]
        elif t12.id == "wd_g3":
            strip = [[e.model_copy(update={"when_says": None}) for e in c.entries] for c in t13.columns]
            assert [c.entries for c in t12.columns] == strip
        else:
            assert t12 == t13
    assert R12.footnotes == R13.footnotes and R12.principles == R13.principles
