"""``evaluation_json`` gives exactly ``model_dump_json``'s bytes, including when shared safety items and
doses come from its fragment memo (each patient is evaluated twice, and drawn patients share screens)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcds.api.examples import PATIENT_EXAMPLE
from netcds.engine import evaluate
from netcds.evaluation import Evaluation
from netcds.evaluation_json import evaluation_json, fragment_stats
from netcds.knowledge.load import load_knowledge
from netcds.patient import Patient
from tests.safety.test_screen_memo import safety_patients
from tests.strategies import patients

KB = load_knowledge()


def same_bytes(record: dict[str, Any]) -> Evaluation:
    ev = evaluate(Patient.model_validate(record), KB)
    for _ in range(2):  # the second time the shared parts come from the memo
        assert evaluation_json(ev) == ev.model_dump_json().encode()
    return ev


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(patients(), min_size=1, max_size=3))
def test_guideline_patients(records: list[dict[str, Any]]) -> None:
    for r in records:
        same_bytes(r)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(safety_patients(), min_size=1, max_size=3))
def test_patients_with_many_safety_findings(records: list[dict[str, Any]]) -> None:
    for r in records:
        same_bytes(r)


def test_the_example_patient_reuses_fragments_and_stays_identical() -> None:
    ev = same_bytes(copy.deepcopy(PATIENT_EXAMPLE))
    before = fragment_stats()["hits"]
    again = evaluate(Patient.model_validate(PATIENT_EXAMPLE), KB)
    assert evaluation_json(again) == evaluation_json(ev) == again.model_dump_json().encode()
    assert fragment_stats()["hits"] > before  # the shared screens' JSON was reused


def test_a_new_object_with_a_reused_identity_is_serialized_afresh() -> None:
    """The memo keys on the object and holds it: an equal-looking or new object never gets stale JSON."""
    ev = evaluate(Patient.model_validate(PATIENT_EXAMPLE), KB)
    option = next(o for o in ev.options if o.safety)
    evaluation_json(ev)
    changed = option.safety[0].model_copy(update={"finding": "a different finding"})
    option.safety[0] = changed
    assert b"a different finding" in evaluation_json(ev)
    assert evaluation_json(ev) == ev.model_dump_json().encode()
    option.safety.append(option.safety[-1].model_copy(update={"id": "added-later"}))
    assert b"added-later" in evaluation_json(ev)
    assert evaluation_json(ev) == ev.model_dump_json().encode()
