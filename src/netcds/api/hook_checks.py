"""Checks of a CDS Hooks request that refuse it as a whole: the prefetched record and the draft orders
must be about the context patient; a refusal is a 422 problem naming the one field at fault."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from netcds.api.orders import DraftMedication
from netcds.api.problems import ApiProblem
from netcds.errors import InputError
from netcds.fhir.read import patient_id as patient_id_of
from netcds.io import first_non_finite

# what a non-finite number can look like in a body: NaN / Infinity (not JSON, but Python's parser takes
# them) or a literal too large for a float (an exponent of 3+ digits, or 300+ digits in a row)
_MAYBE_NOT_FINITE = re.compile(rb"NaN|Infinity|[eE][+-]?[0-9]{3}|[0-9]{300}")


def check_finite(raw_body: bytes | None, data: Any, prefix: str = "") -> None:
    """Every number of a hook request (or of a record fetched for it) must be finite: FHIR decimals are,
    and a NaN or an infinity would otherwise fail deep inside (the canonical prefetch text cannot hold
    it). Walks the parsed data only when its text (if given) could hold one."""
    if raw_body is not None and not _MAYBE_NOT_FINITE.search(raw_body):
        return
    found = first_non_finite(data, prefix)
    if found is not None:
        raise invalid_hook(found[0], f"must be a finite number (got {found[1]})")


def check_patient_id(value: Any) -> None:
    """``context.patientId`` names the chart: required, a non-empty string (a FHIR id)."""
    if value is None or value == "":
        raise invalid_hook(
            "context.patientId", "required (the FHIR id of the patient)", "context.patientId: required"
        )
    if not isinstance(value, str):
        raise invalid_hook(
            "context.patientId", f"must be a string (the FHIR id of the patient), got {type(value).__name__}"
        )


def check_context_patient(patient_id: Any, prefetch: Mapping[str, Any]) -> None:
    """The prefetched Patient must be the context patient: cards about another chart's data would be
    shown in this one (the mapping already refuses resources about another patient than the Patient)."""
    if not isinstance(patient_id, str) or not patient_id:
        return
    patient = prefetch.get("patient")
    if isinstance(patient, Mapping) and patient.get("resourceType") == "Patient":
        found = patient.get("id")
        if isinstance(found, str) and found and found != patient_id:
            raise InputError("prefetch.patient.id", "is not the patient named by context.patientId")


def check_draft_subjects(patient_id: Any, orders: Mapping[str, Any]) -> None:
    """Each draft order must be for the context patient (an order for another chart is refused)."""
    if not isinstance(patient_id, str) or not patient_id:
        return
    for i, entry in enumerate(orders.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        subject = resource.get("subject") if isinstance(resource, Mapping) else None
        named = patient_id_of(subject.get("reference")) if isinstance(subject, Mapping) else None
        if named is not None and named != patient_id:  # a urn:uuid reference cannot be compared
            where = f"context.draftOrders.entry[{i}].resource.subject.reference"
            message = "names another patient than context.patientId"
            raise invalid_hook(where, message)


def invalid_hook(field: str, message: str, detail: str | None = None) -> ApiProblem:
    """A 422 problem naming the one hook-request field at fault."""
    detail = detail or f"{field}: {message}"
    return ApiProblem(422, detail, kind="validation", title="Invalid hook request", errors=[(field, message)])


def order_targets(
    hook: str, context: Mapping[str, Any], drafts: list[DraftMedication]
) -> list[DraftMedication]:
    """The drafts an order hook checks: those of a tabled agent; for order-select, only the selected."""
    tabled = [d for d in drafts if d.agent]
    if hook != "order-select":
        return tabled
    selections = context.get("selections")
    if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
        # required by order-select: without it every draft would be read as the clinician's choice
        raise invalid_hook(
            "context.selections",
            "required: a list of references, e.g. MedicationRequest/123",
            "context.selections: required for order-select, a list of the selected orders' references",
        )
    chosen = set(selections)
    return [d for d in tabled if d.reference in chosen]
