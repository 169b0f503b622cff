"""The disease-status Observation's date becomes ``disease.status_date``: an ongoing SSA counts as
progressed on only when the worsening status was observed after the SSA began (netcds.history)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from netcds.facts import build_facts
from netcds.fhir import prefetch_to_patient
from tests.api.conftest import prefetch


def _ongoing_ssa(status_when: str) -> dict[str, Any]:
    pf = copy.deepcopy(prefetch())
    for entry in pf["observations"]["entry"]:
        if entry["resource"]["id"] == "o-status":
            entry["resource"]["effectiveDateTime"] = status_when
    for entry in pf["medicationRequests"]["entry"]:
        if entry["resource"]["id"] == "m-oct":
            entry["resource"]["status"] = "active"  # still on it
            entry["resource"]["authoredOn"] = "2025-02-03"
    return pf


@pytest.mark.parametrize(
    ("status_when", "status_date", "progressed_on_ssa"),
    [
        ("2025-03-01", "2025-03-01", True),  # worsening observed after the SSA began
        ("2025-01-20", "2025-01-20", None),  # the worsening that led to the SSA: not progression on it
        ("2025-02", "2025-02-01", None),  # a month that may be before the start: counted from its first day
    ],
)
def test_status_observation_date_decides_progression_on_an_ongoing_ssa(
    status_when: str, status_date: str, progressed_on_ssa: bool | None
) -> None:
    patient, report = prefetch_to_patient(_ongoing_ssa(status_when), None)
    assert patient.disease.status == "progressive"
    assert patient.disease.status_date is not None and patient.disease.status_date.isoformat() == status_date
    assert any(m.field == "disease.status_date" for m in report.mapped)
    f = build_facts(patient)
    assert f.get("derived.progressed_on_ssa") is progressed_on_ssa
    if progressed_on_ssa is None:
        assert f.missing_for("derived.progressed_on_ssa") == ("treatments[0].progressed",)
