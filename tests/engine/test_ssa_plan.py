"""Footnote a: discontinue for non-functional, continue for functional, on clinically significant progression."""

from __future__ import annotations

import pytest

from tests.conftest import gi, lung, pancreas, run


@pytest.mark.parametrize("builder", [gi, lung, pancreas])
@pytest.mark.parametrize(
    ("functional", "significant", "action"),
    [
        (False, True, "discontinue"),
        (True, True, "continue"),
        (None, True, "needs_data"),
        (False, False, "not_applicable"),
        (True, False, "not_applicable"),
        (False, None, "needs_data"),
    ],
)
def test_footnote_a(builder, functional, significant, action):
    ev = run(
        builder(tumor={"functional": functional}, disease={"progression_clinically_significant": significant})
    )
    plan = ev.ssa_plan
    assert plan.action == action and plan.footnote == "a"
    assert plan.source is not None and plan.source.footnote == "a"
    if action == "needs_data":
        assert plan.missing and set(plan.missing) <= set(ev.needs_data)


def test_continue_says_it_may_be_combined():
    plan = run(gi(tumor={"functional": True})).ssa_plan
    assert any("combined" in r for r in plan.reasons)


def test_stable_disease_needs_no_ssa_decision():
    ev = run(gi(disease={"status": "stable", "progression_clinically_significant": None}))
    assert ev.ssa_plan.action == "not_applicable"


def test_functional_from_syndromes_when_flag_absent():
    ev = run(gi(tumor={"functional": None, "syndromes": ["carcinoid_syndrome"]}))
    assert ev.ssa_plan.action == "continue"
