"""The shared state of one mapping: resources, reference index, report, and what was used."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from netcds.errors import InputError
from netcds.fhir.medication import medication_content
from netcds.fhir.read import Res, code_label, effective
from netcds.fhir.report import MappingReport


class Ctx:
    """Resources of one patient record plus the report being written."""

    def __init__(self, resources: list[Res], as_of: date | None) -> None:
        self.resources = resources
        self.as_of = as_of
        self.report = MappingReport()
        self.used: set[str] = set()  # res.loc of every resource accounted for (mapped or reported)
        self.index: dict[str, Res] = {}
        # a reference (``Medication/<id>``, a fullUrl) that names several different Medications of the input:
        # which one is meant cannot be told, so it resolves to none (never the first; netcds.fhir.treatments
        # reports the resources naming it)
        self.clashes: dict[str, list[Res]] = {}
        for r in resources:
            for alias in r.aliases:
                known = self.index.setdefault(alias, r)
                if known is not r and _different_medications(known, r):
                    clash = self.clashes.setdefault(alias, [known])
                    if all(_different_medications(c, r) for c in clash):
                        clash.append(r)
        self.patient: Res | None = None
        self.excluded: set[str] = set()  # loc of resources about another subject
        self.fatal: tuple[str, str] | None = None  # (field, message) raised after the report is complete
        self.primary: Res | None = None  # the primary cancer condition evaluated
        self.other_primaries: list[Res] = []  # other primary cancers in the record (another site or type)
        self.unconfirmed_primaries: list[str] = []  # refs of primary cancers not confirmed (not used)
        self.same_tumor: set[str] = set()  # loc of other Conditions recording the evaluated primary again
        self.caveats: dict[str, str] = {}  # res.loc -> note added to every value it maps
        # agent -> (date, ref, status) of its administrations recorded as not given (not-done, on-hold)
        self.withheld: dict[str, list[tuple[date, str, str]]] = {}
        # res.loc -> the Observations listing it in hasMember (scope.parents builds it on first use)
        self.parents: dict[str, list[Res]] | None = None

    # -- lookup ---------------------------------------------------------------------------------
    def of_type(self, *rtypes: str) -> Iterator[Res]:
        for r in self.resources:
            if r.rtype in rtypes and r.loc not in self.excluded:
                yield r

    def resolve(self, ref: Any) -> Res | None:
        if not isinstance(ref, dict) or not ref.get("reference"):
            return None
        target = str(ref["reference"])
        if target.startswith("#"):
            return None
        if self.clash(ref):
            return None
        if target in self.index:
            return self.index[target]
        parts = _parts(target)
        if len(parts) >= 2:  # absolute URL ending in Type/id (or Type/id/_history/n)
            found = self.index.get(f"{parts[-2]}/{parts[-1]}")
            if found is not None and "://" in target and _elsewhere(found.full_url, "/".join(parts)):
                return None  # the same Type/id on another server is another resource
            return found
        return None

    def clash(self, ref: Any) -> list[Res]:
        """The different Medications a reference could name (:attr:`clashes`), or [] when it names at most
        one: by the reference as written, or by the ``Medication/<id>`` an absolute URL ends in."""
        if not isinstance(ref, dict) or not ref.get("reference") or not self.clashes:
            return []
        target = str(ref["reference"])
        if target in self.clashes:
            return self.clashes[target]
        parts = _parts(target)
        if len(parts) >= 2 and target not in self.index:
            return self.clashes.get(f"{parts[-2]}/{parts[-1]}", [])
        return []

    # -- report ---------------------------------------------------------------------------------
    def source(self, res: Res, cc: Any = None, extra: str = "") -> str:
        label = f" [{code_label(cc)}]" if cc is not None else ""
        when = ""
        try:
            d = effective(res)
            when = f" {d.isoformat()}" if d else ""
        except InputError:
            when = ""
        return f"{res.ref}{label}{when}{extra}"

    def mapped(self, field: str, value: Any, res: Res, cc: Any = None, note: str | None = None) -> None:
        self.used.add(res.loc)
        if res.loc in self.caveats:
            note = f"{note}; {self.caveats[res.loc]}" if note else self.caveats[res.loc]
        self.report.add(field, value, self.source(res, cc), note)

    def unmapped(self, res: Res, reason: str, cc: Any = None) -> None:
        self.used.add(res.loc)
        self.report.skip(res.ref, reason, code_label(cc) if cc is not None else None)

    def use(self, res: Res) -> None:
        """Mark a resource as consumed by another mapping (e.g. a Medication behind a request)."""
        self.used.add(res.loc)


def _parts(target: str) -> list[str]:
    """The path segments of a reference, a version (``Type/id/_history/n``) read as the resource itself."""
    parts = target.rstrip("/").split("/")
    return parts[:-2] if len(parts) >= 4 and parts[-2] == "_history" else parts


def _elsewhere(full_url: str | None, reference: str) -> bool:
    """Whether a resource kept under the absolute ``full_url`` is not the one the absolute ``reference``
    names (another server's base); a resource with no absolute fullUrl may be any server's."""
    return full_url is not None and "://" in full_url and full_url.rstrip("/") != reference.rstrip("/")


def _different_medications(one: Res, other: Res) -> bool:
    """Two Medication resources that say different things (:func:`medication_content`)."""
    if one.rtype != "Medication" or other.rtype != "Medication":
        return False
    return medication_content(one.data) != medication_content(other.data)
