"""A procedure the record says there is none of settles the date rules; an absent date alone stays unknown.

``comorbidities.surgery_planned`` / ``dental_procedure_planned`` false: no planned date, so the rules
about a planned surgery or dental procedure are false (no "not assessed" item). ``recent_major_surgery``
false: no major surgery in the 28 days before ``as_of``, which settles look-backs of up to 28 days.
A flag that contradicts its date is refused, naming the field.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from netcds.safety import AgentKnowledge, screen_agent
from netcds.safety.condition_eval import none_recorded
from netcds.safety.conditions import DateLeaf
from netcds.safety.rule_inputs import readers, rule_inputs
from netcds.safety.screen import _context

from .conftest import comorb, patient

# (agent, rule id, the date field it reads, the flag that can say "none"); the "planned later" info rules
# share the not-assessed item of the "within 3 weeks" rule of the same date
RULES = [
    ("cabozantinib", "surgery_within_3_weeks", "planned_surgery_date", "surgery_planned"),
    ("cabozantinib", "dental_procedure_within_3_weeks", "planned_dental_procedure_date", "dental_procedure_planned"),
    ("cabozantinib", "recent_major_surgery", "recent_major_surgery_date", "recent_major_surgery"),
    ("sunitinib", "surgery_within_3_weeks", "planned_surgery_date", "surgery_planned"),
    ("sunitinib", "recent_major_surgery", "recent_major_surgery_date", "recent_major_surgery"),
    ("sunitinib", "dental_procedure_within_3_weeks", "planned_dental_procedure_date", "dental_procedure_planned"),
]  # fmt: skip


def _items(akb: AgentKnowledge, agent: str, rule: str, over: dict[str, Any]) -> list[Any]:
    return [i for i in screen_agent(agent, patient(over), akb).safety if i.id == rule]


@pytest.mark.parametrize(("agent", "rule", "date_field", "flag"), RULES)
def test_none_recorded_settles_the_rule(
    akb: AgentKnowledge, agent: str, rule: str, date_field: str, flag: str
) -> None:
    unknown = _items(akb, agent, rule, {})
    assert [i.kind for i in unknown] == ["not_assessed"]
    assert f"comorbidities.{date_field}" in unknown[0].fields
    assert _items(akb, agent, rule, comorb(**{flag: False})) == []


@pytest.mark.parametrize(("agent", "rule", "date_field", "flag"), RULES)
def test_yes_without_a_date_stays_unknown_and_names_the_date(
    akb: AgentKnowledge, agent: str, rule: str, date_field: str, flag: str
) -> None:
    items = _items(akb, agent, rule, comorb(**{flag: True}))
    assert [i.kind for i in items] == ["not_assessed"]
    assert items[0].fields == [f"comorbidities.{date_field}"]


def test_a_recorded_date_still_decides(akb: AgentKnowledge) -> None:
    got = _items(akb, "cabozantinib", "surgery_within_3_weeks",
                 comorb(surgery_planned=True, planned_surgery_date="2025-03-10"))  # fmt: skip
    assert [i.kind for i in got] == ["warning"] and got[0].severity == "critical"
    old = _items(akb, "cabozantinib", "recent_major_surgery",
                 comorb(recent_major_surgery=False, recent_major_surgery_date="2025-01-01"))  # fmt: skip
    assert old == []


def test_no_recent_surgery_covers_look_backs_of_28_days_only(akb: AgentKnowledge) -> None:
    p = patient(comorb(recent_major_surgery=False))
    facts = _context(p, akb).facts
    fact, flag = "comorbidities.recent_major_surgery_date", "comorbidities.recent_major_surgery"
    assert none_recorded(DateLeaf(fact, "within_past_days", 14), facts) == flag
    assert none_recorded(DateLeaf(fact, "within_past_days", 28), facts) == flag
    assert none_recorded(DateLeaf(fact, "within_past_days", 29), facts) is None
    plan = "comorbidities.planned_surgery_date"
    assert none_recorded(DateLeaf(plan, "within_next_days", 21), facts) is None  # surgery_planned unknown
    q = _context(patient(comorb(surgery_planned=False)), akb).facts
    assert none_recorded(DateLeaf(plan, "within_next_days", 21), q) == "comorbidities.surgery_planned"
    assert none_recorded(DateLeaf(plan, "beyond_next_days", 21), q) == "comorbidities.surgery_planned"
    # "none planned" says nothing of the past
    assert none_recorded(DateLeaf(plan, "within_past_days", 21), q) is None


def test_the_flag_is_part_of_the_shared_rule_inputs(akb: AgentKnowledge) -> None:
    leaves = readers(akb.monograph("cabozantinib"))
    unknown = rule_inputs(leaves, _context(patient({}), akb))
    none = rule_inputs(leaves, _context(patient(comorb(surgery_planned=False)), akb))
    assert unknown != none


@pytest.mark.parametrize(
    ("over", "field"),
    [
        (comorb(surgery_planned=False, planned_surgery_date="2025-03-10"), "comorbidities.planned_surgery_date"),
        (comorb(dental_procedure_planned=False, planned_dental_procedure_date="2025-04-10"),
         "comorbidities.planned_dental_procedure_date"),
        (comorb(recent_major_surgery=False, recent_major_surgery_date="2025-02-20"),
         "comorbidities.recent_major_surgery"),
        (comorb(recent_major_surgery=True, recent_major_surgery_date="2025-01-01"),
         "comorbidities.recent_major_surgery"),
    ],
)  # fmt: skip
def test_a_flag_that_contradicts_its_date_is_refused(over: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        patient(over)
    assert field in str(err.value)


def test_consistent_flags_and_dates_are_accepted() -> None:
    patient(comorb(surgery_planned=True, planned_surgery_date="2025-03-10"))
    patient(comorb(recent_major_surgery=True, recent_major_surgery_date="2025-02-20"))  # 9 days before as_of
    patient(comorb(recent_major_surgery=False, recent_major_surgery_date="2025-01-31"))  # 29 days before
    patient(comorb(recent_major_surgery=True, recent_major_surgery_date="2025-02-02"))  # 27 days before
