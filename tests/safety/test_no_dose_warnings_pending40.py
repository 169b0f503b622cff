"""A critical warning that leaves no dose (cabozantinib: recent bleeding, uncontrolled hypertension, surgery or a
dental procedure within 3 weeks, a recent major surgery) could not be decided while its facts were unrecorded, and
the dose's ``pending`` list did not name it: the dose read as settled though recording the fact could still stop
it (QA session 38, LOW). Such a warning now waits in ``pending`` like a dose adjustment, unless there is no dose
already (recording it would not give one)."""

from __future__ import annotations

from typing import Any

from netcds.safety import AgentKnowledge, screen_agent
from tests.safety.conftest import comorb, patient

SURGERY = {"planned_surgery_date": ..., "surgery_planned": False, "planned_dental_procedure_date": ...,
           "dental_procedure_planned": False, "recent_major_surgery_date": ..., "recent_major_surgery": False}  # fmt: skip


def _dose(over: dict[str, Any], akb: AgentKnowledge):  # type: ignore[no-untyped-def]
    return screen_agent("cabozantinib", patient(over), akb).dose


def _waiting(d) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.split(":")[0] for p in d.pending]


def test_unrecorded_hypertension_waits_in_pending(akb: AgentKnowledge) -> None:
    d = _dose(comorb(hypertension=..., **SURGERY), akb)
    assert d.pending == ["uncontrolled_hypertension: needs comorbidities.hypertension"]
    assert d.rule_names["uncontrolled_hypertension"] == "Uncontrolled hypertension"
    assert d.adjusted is None and "60 mg" in d.standard  # the label dose stands, not yet checked against it


def test_recorded_hypertension_settles_it(akb: AgentKnowledge) -> None:
    assert _dose(comorb(hypertension="controlled", **SURGERY), akb).pending == []
    stopped = _dose(comorb(hypertension="uncontrolled", **SURGERY), akb)
    assert stopped.pending == [] and "uncontrolled_hypertension" in " ".join(stopped.rules_applied)


def test_unrecorded_bleeding_and_surgery_dates_wait(akb: AgentKnowledge) -> None:
    d = _dose(comorb(recent_hemorrhage=...), akb)  # the surgery facts unrecorded too
    assert _waiting(d) == [
        "recent_hemorrhage", "surgery_within_3_weeks", "dental_procedure_within_3_weeks", "recent_major_surgery"
    ]  # fmt: skip
    assert "comorbidities.planned_surgery_date" in d.pending[1]


def test_nothing_waits_once_a_warning_already_stops_the_dose(akb: AgentKnowledge) -> None:
    d = _dose(comorb(recent_hemorrhage=True, hypertension=...), akb)
    assert d.adjusted is not None and d.adjusted_mg is None
    assert d.pending == []  # recording the blood pressure would not give a dose


def test_the_text_report_says_the_dose_is_not_final() -> None:
    from rich.console import Console

    from netcds.report import render
    from tests.conftest import run
    from tests.safety.conftest import CLEAR, merge

    ev = run(merge(CLEAR, comorb(hypertension=..., **SURGERY)))
    console = Console(width=250, record=True)
    for part in render(ev):
        console.print(part)
    lines = [ln for ln in console.export_text().splitlines() if "Dose cabozantinib not final" in ln]
    assert len(lines) == 1 and "comorbidities.hypertension (for the dose" in lines[0], lines
