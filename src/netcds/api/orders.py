"""Draft orders (CDS Hooks ``context.draftOrders``) -> netcds agent ids and concomitant drug names.

A MedicationRequest names its drug by an RxNorm coding (whose ``display`` carries
the ingredient, e.g. "cabozantinib 20 MG Oral Tablet [Cabometyx]") and/or by
text, in its ``medicationCodeableConcept`` or in the Medication its
``medicationReference`` names (contained, or an entry of the draftOrders Bundle;
else the reference's ``display``: netcds.fhir.medication). The ingredient or
brand name is matched as a whole word; codes listed by the safety module's agent
data (``rxnorm``) are matched exactly when present. An order that names no tabled
agent is kept as a concomitant medicine name so the screen of the tabled agent
sees it (e.g. clarithromycin ordered together with cabozantinib). An order whose
drug cannot be read at all is marked ``unread`` (with the reason): the order
hooks answer with a card saying it was not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from netcds.fhir.agent_codes import AGENTS
from netcds.fhir.dosage import octreotide_kind
from netcds.fhir.draft_dose import draft_dose_and_instruction
from netcds.fhir.drug_names import name_of_text
from netcds.fhir.medication import BundleMedication, OrderedDrug, bundle_medications, ordered_drug
from netcds.patient import AGENT_IDS

DRAFTS = "context.draftOrders."  # where the draft orders are in a hook request

_WORDS = re.compile(r"[a-z0-9]+(?:[ -][a-z0-9]+)*")
# generic and brand names -> agent id: the FHIR mapping's one list (netcds.fhir.agent_codes), read the way an
# order's words are (lower case, punctuation but hyphens dropped), less the products whose label is not
# the monograph's (liposomal irinotecan), plus the long-acting octreotide brand
ORDER_NOT_NAMES = frozenset({"onivyde"})
_NAMES: dict[str, str] = {
    " ".join(_WORDS.findall(name)): a.agent for a in AGENTS for name in a.names if name not in ORDER_NOT_NAMES
} | {"sandostatin lar": "octreotide_lar", "octreotide lar": "octreotide_lar"}
_VERSION = re.compile(r"/_history/[^/]+$")  # a version-specific reference's version part
_LONGEST_FIRST = sorted(_NAMES, key=len, reverse=True)
assert set(_NAMES.values()) <= set(AGENT_IDS)
DRUG_AGENTS = frozenset(_NAMES.values())  # the agents that are drugs (every agent id but radiotherapy)


@dataclass(frozen=True)
class DraftMedication:
    """One draft MedicationRequest: its FHIR id, the tabled agent it names (if any), its drug name, the drug
    as the order states it (:class:`netcds.fhir.medication.OrderedDrug`: words, codes, stated strengths, a
    referenced Medication of the Bundle) and where it is in the request (``loc``)."""

    resource_id: str | None
    agent: str | None
    name: str
    resource: Mapping[str, Any]
    drug: OrderedDrug = field(default_factory=OrderedDrug)
    loc: str = ""
    unread: str | None = None  # why netcds could not tell which drug it orders (None: it could)
    full_url: str | None = None  # its Bundle entry's fullUrl (a draft not yet saved may have no id)

    @property
    def reference(self) -> str | None:
        return f"MedicationRequest/{self.resource_id}" if self.resource_id else None

    def named_by(self, selection: str) -> bool:
        """Whether a reference (an item of order-select's ``selections``) names this draft (names_order)."""
        return names_order(selection, "MedicationRequest", self.resource_id, self.full_url)


def names_order(selection: str, resource_type: str, rid: str | None, full_url: str | None) -> bool:
    """Whether ``selection`` names the draft order ``resource_type``/``rid`` whose Bundle entry has the
    ``full_url``: by its relative reference (``MedicationRequest/123``), by the entry's fullUrl (e.g.
    ``urn:uuid:...``, the one way to name an order without an id) or by an absolute URL ending in
    ``/MedicationRequest/123`` (either may name a version: ``.../_history/2``)."""
    if full_url and selection == full_url:
        return True
    if not rid:
        return False
    relative = f"{resource_type}/{rid}"
    bare = _VERSION.sub("", selection)
    return bare == relative or ("://" in bare and bare.endswith("/" + relative))


def agent_from_text(text: str) -> str | None:
    low = " " + " ".join(_WORDS.findall(text.lower())) + " "
    for name in _LONGEST_FIRST:
        if f" {name} " in low:
            return _NAMES[name]
    return None


def generic_name(text: str) -> str:
    """A lower-case drug name from an order text, as the FHIR mapping names a recorded medicine
    (netcds.fhir.drug_names.name_of_text: the generic names of a combination joined by " / ", without a
    leading quantity, strength, form or salt), which the safety data's names and combinations are read
    against; when that leaves no name, the words before the first digit, bracket or comma (else the whole
    text), lower-cased."""
    low = text.lower()
    return name_of_text(text) or " ".join(re.split(r"\d|\[|\(|,", low, maxsplit=1)[0].split()) or low.strip()


def identify(
    resource: Mapping[str, Any],
    rxnorm_codes: Mapping[str, str] | None = None,
    medications: Mapping[str, BundleMedication] | None = None,
    loc: str = "",
    full_url: str | None = None,
) -> DraftMedication:
    """Which tabled agent (if any) a draft MedicationRequest orders, and its drug name (``medications``: the
    Medication entries of its Bundle, which a ``medicationReference`` may name; ``full_url``: its entry's)."""
    rid = resource.get("id")
    drug = ordered_drug(resource, medications)
    agent = next((rxnorm_codes[c] for c in drug.codes if rxnorm_codes and c in rxnorm_codes), None)
    if agent is None:
        agent = next((a for a in map(agent_from_text, drug.texts) if a), None)
    if agent == "octreotide":  # the long-acting injection as the FHIR mapping tells it (words, dose)
        agent = _octreotide_kind(resource, drug)
    # the first text that names a drug (a local order text may hold only a code or a sig: the coding's
    # display, tried next, names it)
    name = agent or next((n for n in map(name_of_text, drug.texts) if n), None)
    name = name or (generic_name(drug.texts[0]) if drug.texts else "")
    unread = drug.unread
    if unread is None and not name:
        unread = (
            f"it names its drug only by RxNorm code ({', '.join(drug.codes)}), which netcds does not know"
        )
    return DraftMedication(
        resource_id=str(rid) if isinstance(rid, str | int) and not isinstance(rid, bool) else None,
        agent=agent,
        name=name,
        resource=resource,
        drug=drug,
        loc=loc,
        unread=unread,
        full_url=full_url or None,
    )


def _octreotide_kind(resource: Mapping[str, Any], drug: OrderedDrug) -> str:
    """octreotide_lar when the order's words say long-acting (LAR, depot, suspension) or its dose (as the dose
    cards read it) is at least the smallest LAR dose (netcds.fhir.dosage.octreotide_kind), else octreotide."""
    instructions = resource.get("dosageInstruction")
    first = instructions[0] if isinstance(instructions, list) and instructions else None
    mg, dosage = draft_dose_and_instruction(resource) or (None, first if isinstance(first, Mapping) else {})
    return octreotide_kind({"text": " ".join(drug.texts)}, mg, dict(dosage))[0]


def draft_medications(
    draft_orders: Any, rxnorm_codes: Mapping[str, str] | None = None
) -> list[DraftMedication]:
    """Every MedicationRequest in a draftOrders Bundle, identified; other resource types are skipped
    (a Medication entry is read where a MedicationRequest references it)."""
    if not isinstance(draft_orders, Mapping):
        return []
    entries = draft_orders.get("entry")
    if not isinstance(entries, list):
        return []
    medications: dict[str, BundleMedication] | None = None
    out = []
    for i, entry in enumerate(entries):
        res = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(res, Mapping) and res.get("resourceType") == "MedicationRequest":
            if res.get("doNotPerform") is True:  # an order NOT to give the drug: nothing to screen
                continue
            if medications is None and "medicationReference" in res:  # most orders name the drug inline
                medications = bundle_medications(draft_orders, DRAFTS)
            url = entry.get("fullUrl")
            where = f"{DRAFTS}entry[{i}].resource"
            out.append(identify(res, rxnorm_codes, medications, where, url if isinstance(url, str) else None))
    return out


def concomitant_names(drafts: Iterable[DraftMedication], existing: Iterable[str] | None) -> list[str] | None:
    """Patient medications plus the drug names of drafts that are not tabled agents (order kept)."""
    names = list(existing or [])
    extra = [d.name for d in drafts if d.agent is None and d.name]
    if not extra:
        return list(existing) if existing is not None else None
    return list(dict.fromkeys([*names, *extra]))
