"""Property: for any valid patient, annotate is total, deterministic and never alters or drops options."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from netcds import Patient, evaluate, load_knowledge
from netcds.facts import build_facts
from netcds.sequencing import annotate
from tests.strategies import patients


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients())
def test_annotate_is_total_and_keeps_every_option(record):
    patient = Patient.model_validate(record)
    ev = evaluate(patient, load_knowledge())
    before = ev.model_dump_json()
    a = annotate(ev, patient, build_facts(patient))
    b = annotate(ev, patient, build_facts(patient))
    assert a.model_dump_json() == b.model_dump_json()
    assert ev.model_dump_json() == before  # the evaluation is not modified
    assert [o.entry_id for o in a.options] == [o.entry_id for o in ev.options]
    for o in a.options:
        if o.status == "not_eligible":
            assert o.discussion_rank is None and o.considerations == []
        for c in o.considerations:
            assert c.source.document and c.rule_id
    assert [ln.line for ln in a.lines_of_therapy] == list(range(1, len(a.lines_of_therapy) + 1))
    if patient.treatments is None:
        assert not a.history.recorded
