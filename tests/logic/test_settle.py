"""``settle`` gives ``evaluate``'s value and missing fields for every condition of the knowledge: the
guideline's (tables, columns, entries, category rules, qualifiers, exclusions, principles, footnote a's
course) over a patient's facts, and the sequencing rules over each option's facts, as the engine builds
them (the engine reads only ``settle`` where it needs only the value)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings

from netcds.engine import evaluate as evaluate_patient
from netcds.facts import Facts, build_facts
from netcds.knowledge.load import load_knowledge
from netcds.logic.ast import Condition
from netcds.logic.evaluate import evaluate, settle
from netcds.patient import Patient
from netcds.sequencing.considerations import extend, option_facts, seq_facts
from netcds.sequencing.data import load_sequencing_data
from netcds.sequencing.lines import build_lines
from netcds.sequencing.pace import progression_pace
from netcds.sequencing.summary import summarize
from tests.strategies import patients

KB = load_knowledge()
DATA = load_sequencing_data()


def guideline_conditions() -> Iterator[Condition]:
    for table in KB.tables:
        yield table.applies_when
        if table.ssa_plan_course is not None:
            yield table.ssa_plan_course
        for col in table.columns:
            yield col.when
            for entry in col.entries:
                if entry.when is not None:
                    yield entry.when
                yield from (r.when for r in entry.category_rules)
                yield from (q.when for q in entry.qualifiers)
    yield from (e.when for e in KB.exclusions)
    yield from (p.when for p in KB.principles.values() if p.when is not None)


GUIDELINE = list(guideline_conditions())


def same(c: Condition, facts: Facts) -> None:
    full = evaluate(c, facts)
    assert settle(c, facts) == (full.value, full.missing)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients())
def test_settle_agrees_with_evaluate(record: dict[str, Any]) -> None:
    patient = Patient.model_validate(record)
    facts = build_facts(patient)
    for c in GUIDELINE:
        same(c, facts)
    ev = evaluate_patient(patient, KB)
    lines = build_lines(patient, DATA)
    base = extend(
        facts,
        seq_facts(
            lines, summarize(patient, lines, DATA), progression_pace(patient, DATA.conventions), patient
        ),
    )
    for o in ev.options:
        opt = extend(base, option_facts(o, base, lines, DATA, ev.setting.table))
        for rule in DATA.rules:
            same(rule.condition, opt)
