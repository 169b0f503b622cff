"""Review 39, netcds.fhir.paging: which search results hold only part of what they found, and the record read
from such a medication search (the history unknown, the medication list marked as not complete, the report
saying why)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from netcds.fhir import prefetch_to_patient
from netcds.fhir.paging import NOT_ALL_READ, incomplete, incomplete_keys, part_only, unknown_lists
from tests.fhir.conftest import load

NEXT = {"relation": "next", "url": "https://ehr.example.test/fhir/MedicationRequest?patient=p&_page=2"}


def searchset(*resources: dict[str, Any], **shell: Any) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
        **shell,
    }


def ileal_prefetch() -> dict[str, Any]:
    """The ileal NET bundle as a CDS Hooks prefetch, its medication resources in a key of their own."""
    entries = copy.deepcopy(load("ileal_net_ssa_progression.json"))["entry"]
    meds = [e["resource"] for e in entries if e["resource"]["resourceType"].startswith("Medication")]
    rest = [e["resource"] for e in entries if not e["resource"]["resourceType"].startswith("Medication")]
    return {"record": searchset(*rest), "medications": searchset(*meds)}


@pytest.mark.parametrize(
    ("shell", "part"),
    [
        ({"link": [{"relation": "self", "url": "x"}, NEXT]}, "relation 'next'"),
        ({"total": 5}, "its total says 5 resources match the search, but it holds 1"),
        ({"total": 1}, None),
        ({"link": [{"relation": "self", "url": "x"}]}, None),
        ({}, None),
    ],
)
def test_part_only(shell: dict[str, Any], part: str | None) -> None:
    found = part_only(searchset({"resourceType": "MedicationRequest", "id": "m"}, **shell))
    assert found is None if part is None else part in (found or "")


def test_included_and_outcome_entries_are_not_matches() -> None:
    bundle = searchset({"resourceType": "MedicationRequest", "id": "m"}, total=1)
    bundle["entry"] += [
        {"resource": {"resourceType": "Medication", "id": "x"}, "search": {"mode": "include"}},
        {"resource": {"resourceType": "OperationOutcome", "issue": []}, "search": {"mode": "outcome"}},
    ]
    assert part_only(bundle) is None
    bundle["total"] = 2
    found = incomplete("medicationRequests", bundle, "MedicationRequest?patient={{context.patientId}}")
    assert found is not None and found.types == ("MedicationRequest",)
    assert found.fields == ("treatments", "medications") and not found.feeds_other_facts


def test_the_type_comes_from_the_template_when_the_page_is_empty() -> None:
    found = incomplete("obs", searchset(total=4), "Observation?patient={{context.patientId}}")
    assert found is not None and found.fields == () and found.feeds_other_facts


def test_a_medication_search_sent_in_part_leaves_the_history_unknown() -> None:
    whole = ileal_prefetch()
    p, _ = prefetch_to_patient(whole)
    assert p.treatments and p.medications == ["lisinopril"]
    sent = copy.deepcopy(whole)
    sent["medications"]["link"] = [NEXT]
    parts = incomplete_keys(sent)
    assert [i.key for i in parts] == ["medications"]
    p, report = prefetch_to_patient(sent)
    p = unknown_lists(p, parts, report)
    assert p.treatments is None
    assert p.medications == ["lisinopril", NOT_ALL_READ]
    (why,) = [u.reason for u in report.unmapped if u.resource == "prefetch.medications"]
    assert "one page of a paged search result" in why and "treatments) is left unknown" in why
    assert not [m for m in report.mapped if m.field.startswith("treatments[")]
    assert unknown_lists(p, parts) == p  # applied once


def test_a_complete_or_other_search_changes_nothing() -> None:
    whole = ileal_prefetch()
    p, _ = prefetch_to_patient(whole)
    assert unknown_lists(p, incomplete_keys(whole)) is p
    sent = copy.deepcopy(whole)
    sent["record"]["total"] = 99  # not a medication search: refused before mapping by the service (412)
    parts = incomplete_keys(sent)
    assert [i.key for i in parts] == ["record"] and parts[0].feeds_other_facts
    assert unknown_lists(p, parts).treatments == p.treatments
