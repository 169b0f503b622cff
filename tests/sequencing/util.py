"""Small helpers for the sequencing tests: evaluate a record and annotate it."""

from __future__ import annotations

from typing import Any

from netcds import Evaluation, Patient, evaluate, load_knowledge
from netcds.facts import build_facts
from netcds.sequencing import SequencingResult, annotate
from netcds.sequencing.models import Consideration, OptionSequencing


def seq(record: dict[str, Any]) -> tuple[Evaluation, SequencingResult]:
    patient = Patient.model_validate(record)
    ev = evaluate(patient, load_knowledge())
    return ev, annotate(ev, patient, build_facts(patient))


def rules(o: OptionSequencing) -> set[str]:
    return {c.rule_id for c in o.considerations}


def factors(result: SequencingResult, factor: str) -> list[tuple[str, Consideration]]:
    return [(o.entry_id, c) for o in result.options for c in o.considerations if c.factor == factor]


def tx(agent: str, start: str, end: str | None = None, **kw: Any) -> dict[str, Any]:
    return {"agent": agent, "start": start, "end": end, **kw}


OCT_STD = tx(
    "octreotide_lar",
    "2020-01-06",
    "2021-06-07",
    dose_mg=30,
    interval_days=28,
    progressed=True,
    progression_date="2021-05-24",
    progression_type="radiographic",
    stop_reason="progression",
)
