"""Medication resources named by reference but not sent with the record.

EHRs often send a MedicationRequest (or Statement, or Administration) whose drug is a ``medicationReference``
to a Medication the prefetch or bundle does not hold, naming the drug in the reference's ``display``. Such a
drug used to be dropped ("medication not identifiable"), so a patient on cabozantinib could be read as never
having had it and a strong CYP3A4 inhibitor could go unscreened. The display now names the drug, and the
mapping report says it was named by the display only. A Medication that is present still wins over the display
(its RxNorm code is the better evidence), and a reference with neither is still reported, not guessed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from netcds.errors import InputError
from netcds.fhir import MappingReport
from netcds.fhir.mcode import prefetch_to_patient
from tests.fhir.test_review_results import NET, PATIENT, RX, bounds, mapped, reason


def request(rid: str, ref: dict[str, Any], status: str = "active", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order",
            "subject": {"reference": "Patient/p1"}, "medicationReference": ref, **extra}  # fmt: skip


def notes(report: MappingReport) -> str:
    return " | ".join(f"{m.field}={m.value} ({m.note})" for m in report.mapped)


def test_tabled_agent_named_only_by_the_display_is_a_treatment_line() -> None:
    cabo = request("c1", {"reference": "Medication/m-cabo", "display": "Cabozantinib 60 MG Oral Tablet"},
                   dosageInstruction=bounds("2025-02-01"))  # fmt: skip
    p, report = mapped(cabo)
    assert p.treatments is not None
    assert [(t.agent, t.start, t.end) for t in p.treatments] == [("cabozantinib", date(2025, 2, 1), None)]
    said = notes(report)
    assert "display only" in said and "Medication/m-cabo" in said
    assert reason(report, "MedicationRequest/c1") == ""  # read, not reported as unread


def test_current_drug_named_only_by_the_display_is_screened() -> None:
    clari = request("k1", {"reference": "Medication/m-k", "display": "clarithromycin 500 MG Oral Tablet"})
    p, report = mapped(clari)
    assert p.medications == ["clarithromycin"]
    assert "display only" in notes(report)


@pytest.mark.parametrize(
    "ref", [{"reference": "Medication/m-x"}, {"reference": "Medication/m-x", "display": "  "}]
)
def test_reference_with_nothing_to_read_is_reported_not_guessed(ref: dict[str, Any]) -> None:
    p, report = mapped(request("x1", ref))
    assert not p.treatments and not p.medications
    assert "not identifiable" in reason(report, "MedicationRequest/x1")


def test_empty_display_is_refused_naming_the_field() -> None:
    with pytest.raises(InputError) as err:
        mapped(request("x1", {"reference": "Medication/m-x", "display": ""}))
    assert err.value.field.endswith("medicationReference.display")


def test_a_medication_in_the_record_wins_over_the_display() -> None:
    med = {"resourceType": "Medication", "id": "m-eve",
           "code": {"coding": [{"system": RX, "code": "141704", "display": "everolimus"}]}}  # fmt: skip
    eve = request("e1", {"reference": "Medication/m-eve", "display": "sunitinib 12.5 MG Oral Capsule"},
                  dosageInstruction=bounds("2025-03-01"))  # fmt: skip
    p, report = mapped(med, eve)
    assert p.treatments is not None and [t.agent for t in p.treatments] == ["everolimus"]
    assert "display only" not in notes(report)


def test_missing_contained_medication_falls_back_to_the_display() -> None:
    sun = request("s1", {"reference": "#gone", "display": "sunitinib 12.5 MG Oral Capsule"},
                  dosageInstruction=bounds("2025-01-15"))  # fmt: skip
    p, _ = mapped(sun)
    assert p.treatments is not None and [t.agent for t in p.treatments] == ["sunitinib"]


def test_a_medication_included_in_a_prefetch_search_names_the_drug() -> None:
    """docs/api.md: a hook's prefetch may carry the Medications by ``_include``; they are read."""
    cabo = request("c1", {"reference": "Medication/mc", "display": "sunitinib (a stale display)"},
                   authoredOn="2025-01-01")  # fmt: skip
    med = {"resourceType": "Medication", "id": "mc", "code": {"text": "cabozantinib 60 mg tablet"}}
    searchset = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"fullUrl": "https://ehr.example/fhir/MedicationRequest/c1", "resource": cabo, "search": {"mode": "match"}},
        {"fullUrl": "https://ehr.example/fhir/Medication/mc", "resource": med, "search": {"mode": "include"}},
    ]}  # fmt: skip
    conditions = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": NET}]}
    p, report = prefetch_to_patient(
        {"patient": PATIENT, "conditions": conditions, "medicationRequests": searchset}
    )
    assert p.treatments is not None and [t.agent for t in p.treatments] == ["cabozantinib"]
    assert "via Medication/mc" in notes(report) and "display only" not in notes(report)
