"""Review 39: two different Medication resources with the same id (or fullUrl) in one input. A reference to it
cannot tell which is meant: neither is read for it (the first is never taken silently), the report names both
Medications and the resource referring to them, and the reference's display, when there is one, names the drug
as it does for a Medication the record lacks. The same Medication sent twice is one. Draft orders: the order
is not checked (its card says why)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from netcds.api.orders import draft_medications
from netcds.fhir import MappingReport, bundle_to_patient
from netcds.fhir.medication import bundle_medications, ordered_drug
from netcds.patient import Patient
from tests.fhir.conftest import load

AS_OF = date(2025, 6, 1)
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
SUBJECT = {"reference": "Patient/net-ileum-1"}


def medication(code: str, name: str, mid: str = "med1") -> dict[str, Any]:
    return {"resourceType": "Medication", "id": mid, "code": {"coding": [{"system": RX, "code": code,
                                                                          "display": name}]}}  # fmt: skip


EVEROLIMUS = medication("141704", "everolimus")
SUNITINIB = medication("357977", "sunitinib")
CLARITHROMYCIN = medication("21212", "clarithromycin 500 MG Oral Tablet")


def statement(ref: dict[str, Any], i: str = "st1") -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement", "id": i, "status": "completed", "subject": SUBJECT,
        "medicationReference": ref, "effectivePeriod": {"start": "2024-01-01", "end": "2024-06-30"},
    }  # fmt: skip


def mapped(*extra: dict[str, Any], urls: list[str | None] | None = None) -> tuple[Patient, MappingReport]:
    b = copy.deepcopy(load("ileal_net_ssa_progression.json"))
    for k, r in enumerate(extra):
        entry: dict[str, Any] = {"resource": r}
        if urls and urls[k]:
            entry["fullUrl"] = urls[k]
        b["entry"].append(entry)
    return bundle_to_patient(b, as_of=AS_OF)


def reasons(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


def agents(p: Patient) -> list[str]:
    return sorted(t.agent for t in p.treatments or [])


def test_two_different_medications_with_one_id_are_not_read_for_a_reference() -> None:
    p, report = mapped(EVEROLIMUS, SUNITINIB, statement({"reference": "Medication/med1"}))
    assert agents(p) == ["octreotide_lar"]  # neither everolimus (the first) nor sunitinib
    said = reasons(report, "MedicationStatement/st1")
    assert "medication not identifiable" in said and "Medication/med1 names 2 different Medications" in said
    med = reasons(report, "Medication/med1")
    assert "2 different Medications in the input are named Medication/med1" in med
    assert "none of them is read for it" in med


def test_the_order_of_the_two_does_not_matter() -> None:
    one, _ = mapped(EVEROLIMUS, SUNITINIB, statement({"reference": "Medication/med1"}))
    two, _ = mapped(SUNITINIB, EVEROLIMUS, statement({"reference": "Medication/med1"}))
    assert agents(one) == agents(two) == ["octreotide_lar"]


def test_the_references_display_still_names_the_drug_and_says_why() -> None:
    p, report = mapped(
        EVEROLIMUS, SUNITINIB, statement({"reference": "Medication/med1", "display": "everolimus 10 mg"})
    )
    assert agents(p) == ["everolimus", "octreotide_lar"]
    (row,) = [m for m in report.mapped if m.field.startswith("treatments[") and "st1" in m.from_]
    assert "display only" in (row.note or "") and "names 2 different Medications" in (row.note or "")


def test_a_current_drug_named_by_a_clashing_id_is_reported_not_taken_as_the_first() -> None:
    active = {**statement({"reference": "Medication/med1"}), "status": "active"}
    active.pop("effectivePeriod")
    p, report = mapped(CLARITHROMYCIN, medication("6809", "metformin"), active)
    assert "clarithromycin" not in (p.medications or [])
    assert "names 2 different Medications" in reasons(report, "MedicationStatement/st1")


def test_the_same_medication_sent_twice_is_one() -> None:
    copy_two = {**EVEROLIMUS, "meta": {"lastUpdated": "2025-01-01T00:00:00Z"}}
    p, report = mapped(EVEROLIMUS, copy_two, statement({"reference": "Medication/med1"}))
    assert agents(p) == ["everolimus", "octreotide_lar"]
    assert "different Medications" not in " ".join(u.reason for u in report.unmapped)


def test_a_reference_by_a_fullurl_that_names_one_of_them_is_read() -> None:
    p, _ = mapped(
        EVEROLIMUS,
        SUNITINIB,
        statement({"reference": "urn:uuid:0f0e8a4c-1a2b-4c3d-8e9f-000000000002"}),
        urls=["urn:uuid:0f0e8a4c-1a2b-4c3d-8e9f-000000000001", "urn:uuid:0f0e8a4c-1a2b-4c3d-8e9f-000000000002",
              None],
    )  # fmt: skip
    assert agents(p) == ["octreotide_lar", "sunitinib"]


# ---- draft orders ------------------------------------------------------------------------------------------
def drafts_bundle(*medications: dict[str, Any], ref: str = "Medication/med1") -> dict[str, Any]:
    order = {
        "resourceType": "MedicationRequest", "id": "draft1", "status": "draft", "intent": "order",
        "subject": {"reference": "Patient/p1"}, "medicationReference": {"reference": ref},
    }  # fmt: skip
    entries = [{"resource": order}, *({"resource": m} for m in medications)]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def test_a_draft_naming_two_different_medications_is_not_read() -> None:
    bundle = drafts_bundle(EVEROLIMUS, SUNITINIB)
    drug = ordered_drug(bundle["entry"][0]["resource"], bundle_medications(bundle, "context.draftOrders."))
    assert drug.unread is not None and drug.medication is None and not drug.texts
    assert "names 2 different Medications of the draftOrders Bundle" in drug.unread
    assert "entry[1].resource" in drug.unread and "entry[2].resource" in drug.unread
    (draft,) = draft_medications(bundle)
    assert draft.agent is None and draft.unread == drug.unread


def test_a_draft_naming_one_medication_twice_reads_it() -> None:
    bundle = drafts_bundle(EVEROLIMUS, copy.deepcopy(EVEROLIMUS))
    (draft,) = draft_medications(bundle)
    assert draft.agent == "everolimus" and draft.unread is None
