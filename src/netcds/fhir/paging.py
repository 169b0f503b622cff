"""Search results that hold only part of what they found: a FHIR Bundle with a ``next`` link (one page of a
paged search) or whose ``total`` counts more matches than it holds. Such a result is never read as complete.

The CDS Hooks service (netcds.api.prefetch) fetches a prefetch key sent that way whole from ``fhirServer``
where it may fetch; otherwise the record is read from the pages sent, and the list facts those resources
feed are not taken as complete (:func:`unknown_lists`): ``treatments`` (the history) is unknown, and
``medications`` keeps the drugs read plus one entry saying the list is not complete, so every interaction
check reads "not screened" instead of "none recorded". A key feeding other facts (Conditions,
Observations) that cannot be fetched whole is refused as a missing key is (412): facts read from part of a
search, such as the newest of several results, could be contradicted by the rest, and cannot be marked
unknown as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netcds.fhir.report import MappingReport
from netcds.patient import Patient

# the resource types whose search results feed the list facts, and those facts
FEEDS: dict[str, tuple[str, ...]] = {
    "MedicationRequest": ("treatments", "medications"),
    "MedicationStatement": ("treatments", "medications"),
    "MedicationAdministration": ("treatments", "medications"),
    "Procedure": ("treatments",),
}
# types a medication search holds beside its matches (an ``_include``d Medication, a warning): no other facts
NEUTRAL = frozenset({"Medication", "OperationOutcome"})
# the entry of ``medications`` saying the list is not complete: not a drug name the safety lists know, so
# each interaction check of the screen reads it as "not screened" (as an unidentified drug), never as none
NOT_ALL_READ = "other medications not read (the record's medication search was sent paged or in part)"
# Bundle.entry.search.mode values of entries that are not matches (FHIR R4: ``total`` counts matches only)
NOT_MATCHES = ("include", "outcome")


@dataclass(frozen=True)
class Incomplete:
    """A prefetch key whose search result holds only part of what it found."""

    key: str
    why: str
    types: tuple[str, ...]  # the resource types it searched (its template) or holds

    @property
    def fields(self) -> tuple[str, ...]:
        """The list facts it feeds (``treatments``, ``medications``), in that order."""
        found = {f for t in self.types for f in FEEDS.get(t, ())}
        return tuple(f for f in ("treatments", "medications") if f in found)

    @property
    def feeds_other_facts(self) -> bool:
        """Whether it holds or searched resources feeding facts other than the lists."""
        return any(t not in FEEDS and t not in NEUTRAL for t in self.types)


def part_only(value: Any) -> str | None:
    """Why a Bundle holds only part of its search result, or None (complete, or not a Bundle): a link with
    relation ``next``, or a ``total`` larger than its entries that are matches."""
    if not isinstance(value, Mapping) or value.get("resourceType") != "Bundle":
        return None
    links = value.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, Mapping) and link.get("relation") == "next":
            return "it is one page of a paged search result (a link with relation 'next')"
    total = value.get("total")
    entries = value.get("entry")
    entries = entries if isinstance(entries, list) else []
    matches = sum(1 for e in entries if _mode(e) not in NOT_MATCHES)
    if isinstance(total, int) and not isinstance(total, bool) and total > matches:
        return f"its total says {total} resources match the search, but it holds {matches}"
    return None


def _mode(entry: Any) -> str | None:
    search = entry.get("search") if isinstance(entry, Mapping) else None
    mode = search.get("mode") if isinstance(search, Mapping) else None
    return mode if isinstance(mode, str) else None


def template_type(template: str) -> str | None:
    """The resource type a prefetch template reads or searches (``MedicationRequest?patient=...``)."""
    head = template.split("?", 1)[0].strip("/").split("/", 1)[0]
    return head if head[:1].isupper() and head.isalpha() else None


def incomplete(key: str, value: Any, template: str | None = None) -> Incomplete | None:
    """The prefetch key ``key`` as an :class:`Incomplete` when its value holds part of its search result."""
    why = part_only(value)
    if why is None:
        return None
    types = {template_type(template)} - {None} if template else set()
    entries = value.get("entry") if isinstance(value, Mapping) else None
    for e in entries if isinstance(entries, list) else []:
        res = e.get("resource") if isinstance(e, Mapping) else None
        if (
            isinstance(res, Mapping)
            and _mode(e) not in NOT_MATCHES
            and isinstance(res.get("resourceType"), str)
        ):
            types.add(res["resourceType"])
    return Incomplete(key, why, tuple(sorted(t for t in types if t is not None)))


def incomplete_keys(
    prefetch: Mapping[str, Any], templates: Mapping[str, str] | None = None
) -> list[Incomplete]:
    """Every key of a CDS Hooks prefetch whose Bundle holds only part of its search result, by key."""
    out = [incomplete(k, v, (templates or {}).get(k)) for k, v in sorted(prefetch.items())]
    return [i for i in out if i is not None]


def unknown_lists(patient: Patient, parts: list[Incomplete], report: MappingReport | None = None) -> Patient:
    """``patient`` with the list facts the incomplete keys feed not taken as complete: ``treatments`` unknown
    (None; the engine asks for the history), ``medications`` the drugs read plus :data:`NOT_ALL_READ`. The
    ``report``, when given, says so for each key, and the treatment rows it held are no longer listed."""
    fields = {f for p in parts for f in p.fields}
    if not fields:
        return patient
    update: dict[str, Any] = {}
    if "treatments" in fields and patient.treatments is not None:
        update["treatments"] = None
    if "medications" in fields and NOT_ALL_READ not in (patient.medications or []):
        update["medications"] = [*(patient.medications or []), NOT_ALL_READ]
    if report is not None:
        for p in parts:
            if not p.fields:
                continue
            said = " and ".join(
                {"treatments": "the treatment history (treatments) is left unknown",
                 "medications": f"the current medications are kept with {NOT_ALL_READ!r} added, so no "
                 "interaction check reads them as complete"}[f]
                for f in p.fields
            )  # fmt: skip
            report.skip(
                f"prefetch.{p.key}",
                f"{p.why}: the rest of the search result was not read, so {said}",
            )
        if "treatments" in update:
            report.mapped = [m for m in report.mapped if not m.field.startswith("treatments[")]
            report.treatments_ended_without_end_date = []
    return patient.model_copy(update=update) if update else patient
