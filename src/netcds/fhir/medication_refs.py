"""Medications a record names by reference but does not hold: which ``Medication/<id>`` a client may read
from the FHIR server it got the record from (the SMART launch reads them all; a CDS Hooks call reads those
the reference's display does not name). The reads themselves are the callers' (``netcds.web.smart_ehr``,
``netcds.api.prefetch``); this module only finds the ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from netcds.fhir.ids import is_fhir_id


def medication_id(reference: Any, server: str) -> str | None:
    """The id of a Medication on ``server`` that a reference names (relative, or absolute on ``server``), or
    None (contained, on another server: the token goes to ``server`` only, a version, or not a Medication)."""
    if not isinstance(reference, str):
        return None
    path = reference.removeprefix(f"{server.rstrip('/')}/")
    kind, _, mid = path.partition("/")
    return mid if kind == "Medication" and is_fhir_id(mid) else None


def _has_display(ref: Mapping[str, Any]) -> bool:
    display = ref.get("display")
    return isinstance(display, str) and bool(display.strip())


def referenced_medications(
    resources: Iterable[Mapping[str, Any]], server: str, *, without_display_only: bool = False
) -> list[str]:
    """Ids of the Medications the record's medication resources name by reference but the record does not
    hold, in the order first named; with ``without_display_only``, only those whose reference has no display
    (the drug is otherwise unnamed)."""
    resources = list(resources)
    held = {r.get("id") for r in resources if r.get("resourceType") == "Medication"}
    wanted: list[str] = []
    for res in resources:
        ref = res.get("medicationReference")
        if not isinstance(ref, Mapping) or (without_display_only and _has_display(ref)):
            continue
        mid = medication_id(ref.get("reference"), server)
        if mid is not None and mid not in held and mid not in wanted:
            wanted.append(mid)
    return wanted


def prefetch_resources(prefetch: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every resource of a CDS Hooks prefetch: a value that is a resource, and each entry's resource of a
    value that is a Bundle (anything else is skipped here; the mapping refuses it, naming the field)."""
    for value in prefetch.values():
        if not isinstance(value, Mapping):
            continue
        if value.get("resourceType") != "Bundle":
            yield value
            continue
        entries = value.get("entry")
        for entry in entries if isinstance(entries, list) else []:
            res = entry.get("resource") if isinstance(entry, Mapping) else None
            if isinstance(res, Mapping):
                yield res
