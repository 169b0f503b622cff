"""Checks of a CDS Hooks request that refuse it as a whole: the prefetched record and the draft orders
must be about the context patient, and a draft order netcds reads must be valid FHIR R4; a refusal is a
422 problem naming the one field at fault."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from netcds.api.orders import DraftMedication, names_order
from netcds.api.problems import ApiProblem
from netcds.errors import InputError
from netcds.fhir.draft_dose import mg_factor
from netcds.fhir.ids import FHIR_ID
from netcds.fhir.read import patient_id as patient_id_of
from netcds.fhir.read import validate_resource
from netcds.io import first_non_finite, json_kind

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
            "context.patientId", f"must be a string (the FHIR id of the patient), got {json_kind(value)}"
        )


# CDS Hooks 2.0 hooks: ``context.userId`` is REQUIRED, "[ResourceType]/[id]" of the current user, who is a
# Practitioner, PractitionerRole, Patient or RelatedPerson in patient-view and a Practitioner or
# PractitionerRole in order-sign (https://cds-hooks.org/hooks/patient-view/, /hooks/order-sign/)
USER_TYPES: dict[str, tuple[str, ...]] = {
    "patient-view": ("Practitioner", "PractitionerRole", "Patient", "RelatedPerson"),
    "order-sign": ("Practitioner", "PractitionerRole"),
}


def check_user_id(value: Any, hook: str) -> None:
    """``context.userId`` names who is using the chart: required, ``Type/id`` with a user type of the hook.
    The service answers the same cards whoever asks, but a call without its user is not a CDS Hooks call (and
    the audit trail could not say whose screen the cards were for)."""
    types = USER_TYPES.get(hook, USER_TYPES["patient-view"])
    want = f"'[ResourceType]/[id]' of the current user ({', '.join(types)})"
    if value is None or value == "":
        raise invalid_hook("context.userId", f"required: {want}", "context.userId: required")
    if not isinstance(value, str):
        raise invalid_hook("context.userId", f"must be a string {want}, got {json_kind(value)}")
    rtype, _, rid = value.partition("/")
    if rtype not in types or FHIR_ID.fullmatch(rid) is None:
        raise invalid_hook("context.userId", f"must be {want}")


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
        return
    # no Patient to hold the record to (null): every resource naming a patient must name the context
    # patient, or another chart's data would make cards in this one
    for key, value in prefetch.items():
        where = _other_patient_at(patient_id, f"prefetch.{key}", value, ("subject", "patient"))
        if where is not None:
            raise InputError(where, _OTHER_PATIENT)


_OTHER_PATIENT = "names another patient than context.patientId"


def _other_patient_at(patient_id: str, where: str, value: Any, members: tuple[str, ...]) -> str | None:
    """Where the first resource of ``value`` (a resource, or a Bundle's entries) names another patient
    than ``patient_id`` in one of ``members`` (a ``urn:uuid`` reference cannot be compared), or None."""
    if not isinstance(value, Mapping):
        return None
    bundle = value.get("resourceType") == "Bundle"
    for i, entry in enumerate((value.get("entry") or []) if bundle else [{"resource": value}]):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            continue
        for member in members:
            ref = resource.get(member)
            named = patient_id_of(ref.get("reference")) if isinstance(ref, Mapping) else None
            if named is not None and named != patient_id:
                return (
                    f"{where}.entry[{i}].resource.{member}.reference"
                    if bundle
                    else f"{where}.{member}.reference"
                )
    return None


def check_draft_subjects(patient_id: Any, orders: Mapping[str, Any]) -> None:
    """Each draft order must be for the context patient (an order for another chart is refused)."""
    if not isinstance(patient_id, str) or not patient_id:
        return
    where = _other_patient_at(patient_id, "context.draftOrders", orders, ("subject",))
    if where is not None:
        raise invalid_hook(where, _OTHER_PATIENT)


def check_draft(d: DraftMedication) -> None:
    """A draft MedicationRequest netcds reads (an order of a tabled agent, or one whose drug it cannot read)
    must be valid FHIR R4, as every prefetched resource must (fhir.resources R4B models, netcds.fhir.read:
    unknown elements, wrong types, a missing required element, two values of a choice such as dose[x]),
    and so must a Medication of the Bundle it references. Otherwise: 422 naming the place, e.g.
    ``context.draftOrders.entry[0].resource.dosageInstruction[0].doseAndRate``. Valid R4 that netcds
    does not read (a dose in tablets, a dose range) is not refused. A resource seen before is not validated
    again (netcds.fhir.read.VALIDATED); the order hooks call this only before they build a draft's cards,
    not when the cards come from the cache (so a cached answer costs nothing more)."""
    try:
        validate_resource(d.resource, d.loc or "context.draftOrders.entry")
        if d.drug.medication is not None:
            validate_resource(d.drug.medication.resource, d.drug.medication.loc)
    except InputError as exc:
        raise invalid_hook(exc.field, exc.message) from None
    check_dose_numbers(d.resource, d.loc or "context.draftOrders.entry")


# the numbers of a Dosage (FHIR R4) netcds reads or could: each Quantity's value (decimal) by where the
# Quantity sits, and the decimals and integers of its timing's repeat
_DOSE_QUANTITIES = ("doseQuantity", "rateQuantity")
_DOSE_PAIRS = {
    "doseRange": ("low", "high"),
    "rateRange": ("low", "high"),
    "rateRatio": ("numerator", "denominator"),
}
_REPEAT_NUMBERS = (
    "duration",
    "durationMax",
    "period",
    "periodMax",
    "count",
    "countMax",
    "frequency",
    "frequencyMax",
)


def check_dose_numbers(resource: Mapping[str, Any], loc: str) -> None:
    """A number of a draft's dosage given as a JSON string (``"value": "600000"``) is refused, 422 naming it:
    FHIR JSON writes a decimal or an integer as a number, and the R4 models netcds validates with accept the
    string, which the dose check would then pass over (a string dose is no dose to compare)."""
    instructions = resource.get("dosageInstruction")
    for i, di in enumerate(instructions if isinstance(instructions, list) else []):
        if not isinstance(di, Mapping):
            continue
        where = f"{loc}.dosageInstruction[{i}]"
        places: list[tuple[str, Any]] = []
        rates = di.get("doseAndRate")
        for j, dr in enumerate(rates if isinstance(rates, list) else []):
            if not isinstance(dr, Mapping):
                continue
            at = f"{where}.doseAndRate[{j}]"
            places += [(f"{at}.{k}", dr.get(k)) for k in _DOSE_QUANTITIES]
            for k, parts in _DOSE_PAIRS.items():
                pair = dr.get(k)
                if isinstance(pair, Mapping):
                    places += [(f"{at}.{k}.{p}", pair.get(p)) for p in parts]
        per_period = di.get("maxDosePerPeriod")
        if isinstance(per_period, Mapping):
            places += [
                (f"{where}.maxDosePerPeriod.{p}", per_period.get(p)) for p in ("numerator", "denominator")
            ]
        places += [(f"{where}.{k}", di.get(k)) for k in ("maxDosePerAdministration", "maxDosePerLifetime")]
        timing = di.get("timing")
        repeat = timing.get("repeat") if isinstance(timing, Mapping) else None
        if isinstance(repeat, Mapping):
            places.append((f"{where}.timing.repeat.boundsDuration", repeat.get("boundsDuration")))
            for k in _REPEAT_NUMBERS:
                if isinstance(repeat.get(k), str):
                    raise _string_number(f"{where}.timing.repeat.{k}", repeat[k])
        for at, quantity in places:
            if isinstance(quantity, Mapping) and isinstance(quantity.get("value"), str):
                raise _string_number(f"{at}.value", quantity["value"])
            if at.endswith((".doseQuantity", ".doseRange.low", ".doseRange.high")) and isinstance(
                quantity, Mapping
            ):
                _check_dose_amount(f"{at}.value", quantity)


def _check_dose_amount(field: str, quantity: Mapping[str, Any]) -> None:
    """A dose (or a dose range's bound) of zero or less is no dose a card could compare: refused, 422 naming
    it (QA session 41: a 0 or -60 mg draft was passed over). A large dose is a dose: the card warns that it
    is above the labelled one (600 g is compared as 600000 mg), unless in mg it is beyond any finite number
    (1e306 g): no amount a card could state or compare, refused as well."""
    value = quantity.get("value")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    if value <= 0:
        raise invalid_hook(field, f"a dose must be above 0 (got {value:g})")
    factor = mg_factor(quantity)
    if factor is not None and not math.isfinite(value * factor):
        raise invalid_hook(
            field, f"a dose must be a finite amount in mg ({value:g} times {factor:g} mg is not)"
        )


def _string_number(field: str, value: str) -> ApiProblem:
    shown = value if len(value) <= 40 else value[:39] + "…"
    return invalid_hook(
        field,
        f"must be a JSON number, not a string (got {shown!r}): FHIR JSON writes a number without quotes",
    )


def invalid_hook(field: str, message: str, detail: str | None = None) -> ApiProblem:
    """A 422 problem naming the one hook-request field at fault."""
    detail = detail or f"{field}: {message}"
    return ApiProblem(422, detail, kind="validation", title="Invalid hook request", errors=[(field, message)])


def selected_drafts(
    hook: str, context: Mapping[str, Any], drafts: list[DraftMedication]
) -> list[DraftMedication]:
    """The drafts an order hook checks: every one for order-sign; for order-select, those that
    ``context.selections`` names (by ``MedicationRequest/<id>``, by the entry's ``fullUrl``, or by an absolute
    URL ending in ``/MedicationRequest/<id>``: netcds.api.orders.names_order). A selection that names no draft
    order of the Bundle (of any type: a lab order may be selected too) is refused, 422 naming
    ``context.selections[i]``: CDS Hooks selections identify draft orders, and one read as "nothing selected"
    would skip the check without a sign."""
    if hook != "order-select":
        return list(drafts)
    selections = context.get("selections")
    if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
        # required by order-select: without it every draft would be read as the clinician's choice
        raise invalid_hook(
            "context.selections",
            "required: a list of references, e.g. MedicationRequest/123",
            "context.selections: required for order-select, a list of the selected orders' references",
        )
    orders = context.get("draftOrders")
    entries = orders.get("entry") if isinstance(orders, Mapping) else None
    named = [_entry_names(e) for e in entries] if isinstance(entries, list) else []
    for i, selection in enumerate(selections):
        if not any(names_order(selection, *n) for n in named):
            raise invalid_hook(
                f"context.selections[{i}]",
                "names no draft order of context.draftOrders (a selection is an order's reference, e.g. "
                "MedicationRequest/123, its entry's fullUrl, or an absolute URL ending in "
                "MedicationRequest/123)",
            )
    return [d for d in drafts if any(d.named_by(s) for s in selections)]


def _entry_names(entry: Any) -> tuple[str, str | None, str | None]:
    """What a selection can name a draftOrders entry by: its resource type and id, and its fullUrl."""
    if not isinstance(entry, Mapping):
        return "", None, None
    resource, url = entry.get("resource"), entry.get("fullUrl")
    kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
    rid = resource.get("id") if isinstance(resource, Mapping) else None
    return (
        kind if isinstance(kind, str) else "",
        str(rid) if isinstance(rid, str | int) and not isinstance(rid, bool) and kind else None,
        url if isinstance(url, str) else None,
    )
