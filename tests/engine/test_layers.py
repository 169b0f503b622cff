"""Sequencing and safety sit beside the guideline: they never change status, category or tier, never drop an option."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import netcds.engine.core as core
from netcds import Patient, evaluate, load_knowledge
from tests.conftest import gi, opt, run
from tests.strategies import patients

KB = load_knowledge()


def _guideline_only(p: Patient):
    original = core.attach_layers
    core.attach_layers = lambda ev, *args, **kw: ev  # type: ignore[assignment]
    try:
        return evaluate(p, KB)
    finally:
        core.attach_layers = original


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(patients())
def test_layers_do_not_alter_the_guideline_result(record):
    p = Patient.model_validate(record)
    full, bare = evaluate(p, KB), _guideline_only(p)
    key = lambda ev: sorted((o.entry_id, o.status, o.category, o.tier, tuple(o.missing)) for o in ev.options)  # noqa: E731
    assert key(full) == key(bare)
    assert (full.setting, full.ssa_plan, full.needs_data) == (bare.setting, bare.ssa_plan, bare.needs_data)


def test_critical_safety_finding_leaves_the_option_eligible():
    ev = run(
        gi(
            treatments=[
                {"agent": "everolimus", "start": "2023-01-01", "end": "2023-09-01", "progressed": True}
            ],
            comorbidities={"hypertension": "uncontrolled", "recent_hemorrhage": True},
        )
    )
    cabo = opt(ev, "gi.cabozantinib")
    assert cabo.status == "eligible" and cabo.category == "1"
    assert any(i.severity == "critical" for i in cabo.safety)
    assert ev.safety_summary["critical"] >= 1


def test_every_safety_item_and_dose_has_a_source():
    ev = run(
        gi(comorbidities={"hepatic_impairment": "moderate"}, medications=["clarithromycin", "zzz-unknown"])
    )
    for o in ev.options:
        for item in o.safety:
            assert item.source.document
        for d in o.dose.agents if o.dose else []:
            assert d.source.document


def test_previously_received_option_is_kept_with_its_history():
    ev = run(
        gi(
            treatments=[
                {
                    "agent": "octreotide_lar",
                    "dose_mg": 30,
                    "interval_days": 28,
                    "start": "2022-01-01",
                    "end": "2023-01-01",
                    "progressed": True,
                    "stop_reason": "progression",
                },
                {
                    "agent": "everolimus",
                    "start": "2023-02-01",
                    "end": "2023-05-01",
                    "stop_reason": "toxicity",
                    "progressed": False,
                },
            ]
        )
    )
    evero = opt(ev, "gi.everolimus")
    assert evero.history is not None and evero.history.received and evero.history.stopped_for_toxicity
    assert len(ev.lines_of_therapy) == 2


def test_dose_summary_calls_no_avoid_or_undetermined_dose_adjusted():
    ev = run(gi(medications=["clarithromycin"]))  # a strong CYP3A4 inhibitor: the label avoids everolimus
    summary = opt(ev, "gi.everolimus").dose.summary
    assert "avoid" in summary and "(adjusted)" not in summary
    # an adult (an unrecorded age leaves the dose "not determined until recorded": no adult is assumed)
    hepatic = run(gi(age_years=60, comorbidities={"hepatic_impairment": "moderate"}))
    assert opt(hepatic, "gi.everolimus").dose.summary.endswith("(adjusted)")  # 5 mg for Child-Pugh B


def test_dose_summary_sees_through_the_unverified_mark():
    """A no-dose text marked UNVERIFIED (a rule not confirmed against the label applied) is still no dose."""
    from netcds.engine.layers import _dose_summary
    from netcds.safety.adjusted_dose import NOT_DETERMINED, UNVERIFIED
    from netcds.safety.models import DoseResult

    src = opt(run(gi()), "gi.everolimus").dose.agents[0].source
    base = {"agent": "x", "standard": "10 mg", "source": src, "unit": "mg"}
    none = DoseResult(**base, adjusted=UNVERIFIED + NOT_DETERMINED + "rules conflict")
    some = DoseResult(**base, adjusted=UNVERIFIED + "5 mg orally once daily", adjusted_mg=5)
    assert "(adjusted)" not in _dose_summary([none])
    assert _dose_summary([some]).endswith("(adjusted)")
