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

A Bundle posted whole (netcds.fhir.mcode.bundle_to_patient: /api/v1/evaluate/fhir, a web upload, a SMART
launch's record) gets the same rule (:func:`paged_parts`), for itself and each Bundle nested in it, where its
``type`` is ``searchset`` or ``history`` (the Bundles FHIR R4 pages and gives a ``total``; a ``collection``,
``document``, ``transaction`` or ``batch`` is no search result). What the rest of its search holds is told by
its ``self`` link (the last resource type in its path; ``$everything`` or a search of no one type may return
anything), else by the types of its matches: one that searched or holds only medication resources or
Procedures leaves the lists unknown as above; any other is refused with an InputError (422) naming its
``link`` or ``total``, as the CDS Hooks service answers 412 for such a key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from netcds.errors import InputError
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
# Bundle types FHIR R4 pages (http.html#paging) and gives a ``total`` (bdl-1): search and history results
PAGEABLE = ("searchset", "history")
# what a Bundle searched when its self link names no one resource type (``$everything``, a system search)
ANY_TYPE = "any resource type"


@dataclass(frozen=True)
class Incomplete:
    """A prefetch key whose search result holds only part of what it found."""

    key: str
    why: str
    types: tuple[str, ...]  # the resource types it searched (its template) or holds
    place: str = ""  # where the report names it ("entry[3].resource"); a prefetch key: ``prefetch.<key>``
    field: str = ""  # the element that says it is part (``link``, ``total``), as a refusal names it

    @property
    def where(self) -> str:
        return self.place or f"prefetch.{self.key}"

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
    found = _part(value)
    return found[1] if found else None


def _part(value: Any) -> tuple[str, str] | None:
    """(the element that says so, why) for a Bundle holding only part of its search result, else None."""
    if not isinstance(value, Mapping) or value.get("resourceType") != "Bundle":
        return None
    links = value.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, Mapping) and link.get("relation") == "next":
            return "link", "it is one page of a paged search result (a link with relation 'next')"
    total = value.get("total")
    entries = value.get("entry")
    entries = entries if isinstance(entries, list) else []
    matches = sum(1 for e in entries if _mode(e) not in NOT_MATCHES)
    if isinstance(total, int) and not isinstance(total, bool) and total > matches:
        return "total", f"its total says {total} resources match the search, but it holds {matches}"
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
    found = _part(value)
    if found is None:
        return None
    field, why = found
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
    return Incomplete(key, why, tuple(sorted(t for t in types if t is not None)), field=field)


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
            reason = f"{p.why}: the rest of the search result was not read, so {said}"
            if not any(u.resource == p.where and u.reason == reason for u in report.unmapped):
                report.skip(p.where, reason)  # once, however often it is applied
        if "treatments" in update:
            report.mapped = [m for m in report.mapped if not m.field.startswith("treatments[")]
            report.treatments_ended_without_end_date = []
    return patient.model_copy(update=update) if update else patient


def searched_type(bundle: Mapping[str, Any]) -> str | None:
    """The resource type the search a Bundle's ``self`` link names returns: the last resource type in its
    path (``.../fhir/MedicationRequest?patient=p``, ``Patient/p/MedicationRequest``); :data:`ANY_TYPE` for an
    operation or a search of no one type (``Patient/p/$everything``, ``.../fhir?_type=...``); None without a
    self link (what it searched is then told by its matches)."""
    links = bundle.get("link")
    for link in links if isinstance(links, list) else []:
        url = link.get("url") if isinstance(link, Mapping) and link.get("relation") == "self" else None
        if not isinstance(url, str):
            continue
        try:
            path = [p for p in urlsplit(url).path.split("/") if p]
        except ValueError:
            return ANY_TYPE
        if any(p.startswith("$") for p in path):
            return ANY_TYPE
        named = [p for p in path if p[:1].isupper() and p.isalpha()]
        return named[-1] if named else ANY_TYPE
    return None


def _bundles(bundle: Mapping[str, Any], loc: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``bundle`` and every Bundle nested in it, each with its place (``""``, ``entry[3].resource.``)."""
    yield loc, bundle
    entries = bundle.get("entry")
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        res = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(res, Mapping) and res.get("resourceType") == "Bundle":
            yield from _bundles(res, f"{loc}entry[{i}].resource.")


def paged_parts(bundle: Mapping[str, Any]) -> list[Incomplete]:
    """The Bundles of a posted Bundle (itself, those nested in it) that are search or history results holding
    part of what they found, each with the types its search returns (:func:`searched_type`, else its matches).
    One that feeds facts other than the lists is refused (:func:`refuse_other_facts`)."""
    out: list[Incomplete] = []
    for loc, b in _bundles(bundle, ""):
        if b.get("type") not in PAGEABLE:
            continue
        place = loc.rstrip(".") or "Bundle"
        part = incomplete(place, b)
        if part is None:
            continue
        searched = searched_type(b)
        types = tuple(sorted({*part.types, searched})) if searched else part.types
        out.append(Incomplete(part.key, part.why, types, place=place, field=f"{loc}{part.field}"))
    refuse_other_facts(out)
    return out


def prefetch_parts(
    prefetch: Mapping[str, Any], templates: Mapping[str, str] | None = None
) -> list[Incomplete]:
    """:func:`incomplete_keys` of a CDS Hooks prefetch, with the service's templates where the caller has them
    (the CDS Hooks service has refused before mapping a key its template says feeds other facts); one that
    holds resources feeding other facts is refused (:func:`refuse_other_facts`)."""
    parts = incomplete_keys(prefetch, templates)
    out = [Incomplete(p.key, p.why, p.types, field=f"prefetch.{p.key}.{p.field}") for p in parts]
    refuse_other_facts(out)
    return out


def refuse_other_facts(parts: list[Incomplete]) -> None:
    """An InputError (422) naming the first part that holds or searched resources feeding facts other than
    the lists (Conditions, Observations, a Patient, any type): such facts (the primary cancer, the newest
    result) read from part of a search could be contradicted by the rest, and cannot be left unknown as a
    whole."""
    for p in parts:
        if not p.feeds_other_facts:
            continue
        other = [t for t in p.types if t not in FEEDS and t not in NEUTRAL and t != ANY_TYPE]
        said = [f"it holds or searched {', '.join(other)} resources"] if other else []
        if ANY_TYPE in p.types:  # its self link: $everything, a search of several types
            said.append("its self link names a search that may return any resource type")
        raise InputError(
            p.field or p.where,
            f"{p.why}: the Bundle is part of a search result whose rest was not sent, and {'; '.join(said)}; "
            "facts read from part of a search (the primary cancer, the newest result) could be contradicted "
            "by the rest, so it is not read: send every page as one Bundle",
        )
