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
from netcds.fhir import MappingReport, bundle_to_patient
from netcds.fhir.mcode import prefetch_to_patient
from tests.fhir.test_review_results import AS_OF, NET, PATIENT, RX, bounds, mapped, reason


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


# --- review findings ------------------------------------------------------------------------------------
@pytest.mark.parametrize("contained", [False, True], ids=["in-the-record", "contained"])
def test_a_medication_without_a_code_leaves_the_display(contained: bool) -> None:
    med = {"resourceType": "Medication", "id": "m1", "ingredient": [{"itemCodeableConcept": {"text": "x"}}]}
    ref = {"reference": "#m1" if contained else "Medication/m1", "display": "cabozantinib 60 MG Oral Tablet"}
    order = request("c1", ref, authoredOn="2025-01-01") | ({"contained": [med]} if contained else {})
    p, report = mapped(order) if contained else mapped(med, order)
    assert p.treatments is not None and [t.agent for t in p.treatments] == ["cabozantinib"]
    assert "display only" in notes(report) and "names no drug code" in notes(report)


def test_a_reference_to_another_server_is_not_read_as_this_servers_medication() -> None:
    """The same Type/id under another base is another resource: the display names the drug, not the
    issuer's Medication/1."""
    here = {"fullUrl": "https://ehr.example/fhir/Medication/1",
            "resource": {"resourceType": "Medication", "id": "1", "code": {"text": "cabozantinib 60 mg tablet"}}}  # fmt: skip
    far = request("s1", {"reference": "https://other.example/fhir/Medication/1", "display": "sunitinib 12.5 MG Oral Capsule"},
                  authoredOn="2025-01-01")  # fmt: skip
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": PATIENT}, {"resource": NET}, here, {"resource": far}]}  # fmt: skip
    p, report = bundle_to_patient(bundle, as_of=AS_OF)
    assert p.treatments is not None and [t.agent for t in p.treatments] == ["sunitinib"]
    assert "display only (https://other.example/fhir/Medication/1 is not in the record)" in notes(report)
    same = request("c1", {"reference": "https://ehr.example/fhir/Medication/1"}, authoredOn="2025-01-01")
    bundle["entry"][-1] = {"resource": same}
    p, _ = bundle_to_patient(bundle, as_of=AS_OF)  # the same server's reference still resolves
    assert p.treatments is not None and [t.agent for t in p.treatments] == ["cabozantinib"]


def test_a_display_only_drug_reported_as_not_given_says_so() -> None:
    nd = {"resourceType": "MedicationAdministration", "id": "nd", "status": "not-done",
          "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2025-05-20",
          "medicationReference": {"reference": "Medication/zz", "display": "lanreotide 120 MG injection"}}  # fmt: skip
    _, report = mapped(nd)
    said = reason(report, "MedicationAdministration/nd")
    assert (
        "not a treatment that was given" in said
        and "display only (Medication/zz is not in the record)" in said
    )
