"""``derived.on_ssa``: an octreotide LAR / lanreotide course is ongoing (5.2024-r12, docs/contract.md).

True for a recorded course with no end (``end`` null = ongoing, as the SSA plan of footnote a reads
"currently on"), whichever id records it (the agents, or a regimen id standing for them); false when the
treatment history is recorded and no such course is ongoing; unknown, naming ``treatments``, when the
history is not recorded (unknown is never false).
"""

from __future__ import annotations

from typing import Any

import pytest

from netcds import Patient
from netcds.engine.ssa_plan import _current_ssa
from netcds.facts import build_facts, ssa_courses
from netcds.vocabulary import fact_specs
from tests.conftest import g3

ON = "derived.on_ssa"


def facts(treatments: Any) -> Any:
    rec = g3(treatments=treatments)
    return build_facts(Patient.model_validate(rec))


def line(agent: str, end: str | None = None, start: str = "2024-01-01", **more: Any) -> dict[str, Any]:
    return {"agent": agent, "start": start, **({"end": end} if end else {}), **more}


@pytest.mark.parametrize("agent", ["octreotide_lar", "lanreotide", "ssa", "ssa_above_label"])
def test_a_course_with_no_end_is_ongoing(agent: str) -> None:
    d = facts([line(agent)]).derived[ON]
    assert d.value is True and d.missing == ()
    assert "ongoing" in d.why and "since 2024-01-01" in d.why


def test_a_course_without_a_start_is_still_ongoing() -> None:
    d = facts([{"agent": "lanreotide"}]).derived[ON]
    assert d.value is True and "start not recorded" in d.why


@pytest.mark.parametrize("agent", ["octreotide_lar", "lanreotide", "ssa", "ssa_above_label"])
def test_an_ended_course_is_not_ongoing(agent: str) -> None:
    d = facts([line(agent, "2024-09-01", stop_reason="progression")]).derived[ON]
    assert d.value is False and d.missing == () and "ended" in d.why


@pytest.mark.parametrize("reason", ["toxicity", "progression", "patient_choice"])
def test_a_course_recorded_as_stopped_without_an_end_date_is_not_ongoing(reason: str) -> None:
    """A stop reason says the course stopped, though its end date is missing: not read as still given (an SSA
    stopped for toxicity does not treat the syndrome now)."""
    d = facts([line("octreotide_lar", stop_reason=reason)]).derived[ON]
    assert d.value is False and d.missing == () and "stopped" in d.why
    plan = _current_ssa(facts([line("octreotide_lar", stop_reason=reason)]))
    assert plan == f"octreotide LAR stopped ({reason.replace('_', ' ')}), no end date recorded"


def test_one_ongoing_course_among_ended_ones_is_enough() -> None:
    ts = [
        line("lanreotide", "2023-06-01", start="2022-01-01"),
        line("everolimus", "2023-12-01", start="2023-07-01"),
        line("octreotide_lar"),
    ]
    assert facts(ts).get(ON) is True


@pytest.mark.parametrize("agent", ["octreotide", "everolimus", "capecitabine_temozolomide", "lu177_dotatate"])
def test_another_ongoing_agent_is_not_an_ssa_course(agent: str) -> None:
    # short-acting octreotide (breakthrough symptoms, footnote e) is not an octreotide LAR / lanreotide course
    d = facts([line(agent)]).derived[ON]
    assert d.value is False and "no octreotide LAR/lanreotide" in d.why


def test_an_empty_history_is_none_given() -> None:
    assert facts([]).get(ON) is False


def test_an_unrecorded_history_is_unknown_and_named() -> None:
    f = facts(...)  # the key left out: treatments not recorded
    d = f.derived[ON]
    assert d.value is None and d.missing == ("treatments",) and f.missing_for(ON) == ("treatments",)


def test_the_fact_is_in_the_vocabulary_and_shown() -> None:
    assert fact_specs()[ON].kind == "bool"
    f = facts([line("octreotide_lar")])
    assert f.values[ON] is True


def test_the_ssa_plan_reads_the_same_courses() -> None:
    f = facts([line("everolimus"), line("ssa"), line("lanreotide", "2024-05-01")])
    ended = facts([line("lanreotide", "2024-05-01")])
    assert ended.get(ON) is False and "already stopped" in _current_ssa(ended)
    courses = ssa_courses(f.patient)
    assert courses is not None and [t.agent for t in courses] == ["ssa", "lanreotide"]
    assert f.get(ON) is True and _current_ssa(f).startswith("currently on")
    assert ssa_courses(facts(...).patient) is None
