"""Footnote a's "continue" for an SSA the record shows as stopped (session 36, clinical QA LOW).

A functional tumor with clinically significant progression keeps the SSA under footnote a; when every
recorded octreotide LAR / lanreotide course has ended, the plan's last reason says that continuing it
means taking it up again, so "continue" beside "already stopped" is not misread.
"""

from __future__ import annotations

from typing import Any

import pytest

from netcds import Patient, evaluate, load_knowledge
from tests.conftest import SSA_PROGRESSED, gi

RESTART = "continuing it here means taking it up again"
FUNCTIONAL = {"functional": True, "syndromes": ["carcinoid_syndrome"]}


def _plan(tumor: dict[str, Any], treatments: list[dict[str, Any]]) -> Any:
    return evaluate(Patient.model_validate(gi(tumor=tumor, treatments=treatments)), load_knowledge()).ssa_plan


def test_a_stopped_ssa_under_continue_says_it_is_a_restart() -> None:
    plan = _plan(FUNCTIONAL, SSA_PROGRESSED)
    assert plan.action == "continue"
    assert plan.reasons[-1] == f"octreotide LAR already stopped on 2024-06-01; {RESTART}"


@pytest.mark.parametrize(
    ("tumor", "ended", "action"),
    [(FUNCTIONAL, False, "continue"), ({"functional": False}, True, "discontinue")],
)
def test_otherwise_no_restart_words(tumor: dict[str, Any], ended: bool, action: str) -> None:
    line = {k: v for k, v in SSA_PROGRESSED[0].items() if ended or k not in ("end", "stop_reason")}
    plan = _plan(tumor, [line])
    assert plan.action == action
    assert all(RESTART not in r for r in plan.reasons)


def test_a_restart_after_toxicity_says_so() -> None:
    line = {**SSA_PROGRESSED[0], "stop_reason": "toxicity"}
    plan = _plan(FUNCTIONAL, [line])
    if plan.action == "continue":  # progression on the course is still recorded
        assert plan.reasons[-1].endswith(f"{RESTART}, and it was stopped for toxicity")
    else:
        pytest.fail(f"unexpected plan {plan.action}: {plan.reasons}")
