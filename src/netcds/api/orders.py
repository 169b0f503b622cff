"""Draft orders (CDS Hooks ``context.draftOrders``) -> netcds agent ids and concomitant drug names.

A MedicationRequest names its drug by an RxNorm coding (whose ``display`` carries
the ingredient, e.g. "cabozantinib 20 MG Oral Tablet [Cabometyx]") and/or by
text. The ingredient or brand name is matched as a whole word; codes listed by
the safety module's agent data (``rxnorm``) are matched exactly when present.
An order that names no tabled agent is kept as a concomitant medicine name so the
screen of the tabled agent sees it (e.g. clarithromycin ordered together with
cabozantinib).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from netcds.patient import AGENT_IDS

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# generic and brand names (US labels) -> agent id; brands from the products' labels
_NAMES: dict[str, str] = {
    "octreotide": "octreotide",
    "sandostatin": "octreotide",
    "mycapssa": "octreotide",
    "sandostatin lar": "octreotide_lar",
    "octreotide lar": "octreotide_lar",
    "lanreotide": "lanreotide",
    "somatuline": "lanreotide",
    "everolimus": "everolimus",
    "afinitor": "everolimus",
    "sunitinib": "sunitinib",
    "sutent": "sunitinib",
    "cabozantinib": "cabozantinib",
    "cabometyx": "cabozantinib",
    "cometriq": "cabozantinib",
    "lutetium lu 177 dotatate": "lu177_dotatate",
    "lutetium dotatate": "lu177_dotatate",
    "lutathera": "lu177_dotatate",
    "temozolomide": "temozolomide",
    "temodar": "temozolomide",
    "capecitabine": "capecitabine",
    "xeloda": "capecitabine",
    "fluorouracil": "fluorouracil",
    "oxaliplatin": "oxaliplatin",
    "irinotecan": "irinotecan",
    "leucovorin": "leucovorin",
    "cisplatin": "cisplatin",
    "carboplatin": "carboplatin",
    "etoposide": "etoposide",
    "dacarbazine": "dacarbazine",
    "pembrolizumab": "pembrolizumab",
    "keytruda": "pembrolizumab",
    "nivolumab": "nivolumab",
    "opdivo": "nivolumab",
    "ipilimumab": "ipilimumab",
    "yervoy": "ipilimumab",
    "belzutifan": "belzutifan",
    "welireg": "belzutifan",
}
_LONGEST_FIRST = sorted(_NAMES, key=len, reverse=True)
_WORDS = re.compile(r"[a-z0-9]+(?:[ -][a-z0-9]+)*")
assert set(_NAMES.values()) <= set(AGENT_IDS)


@dataclass(frozen=True)
class DraftMedication:
    """One draft MedicationRequest: its FHIR id, the tabled agent it names (if any), its drug text."""

    resource_id: str | None
    agent: str | None
    name: str
    resource: Mapping[str, Any]

    @property
    def reference(self) -> str | None:
        return f"MedicationRequest/{self.resource_id}" if self.resource_id else None


def _texts(resource: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    concept = resource.get("medicationCodeableConcept")
    if not isinstance(concept, Mapping):  # R5 style: medication.concept
        med = resource.get("medication")
        concept = med.get("concept") if isinstance(med, Mapping) else None
    if isinstance(concept, Mapping):
        if isinstance(concept.get("text"), str):
            out.append(concept["text"])
        for c in concept.get("coding") or []:
            if isinstance(c, Mapping) and isinstance(c.get("display"), str):
                out.append(c["display"])
    return out


def _codes(resource: Mapping[str, Any]) -> list[str]:
    concept = resource.get("medicationCodeableConcept")
    if not isinstance(concept, Mapping):
        return []
    return [
        str(c.get("code"))
        for c in concept.get("coding") or []
        if isinstance(c, Mapping) and c.get("system") == RXNORM and c.get("code")
    ]


def agent_from_text(text: str) -> str | None:
    low = " " + " ".join(_WORDS.findall(text.lower())) + " "
    for name in _LONGEST_FIRST:
        if f" {name} " in low:
            return _NAMES[name]
    return None


def generic_name(text: str) -> str:
    """A lower-case drug name from an order text: the leading words before a strength or form."""
    low = text.lower()
    low = re.split(r"\d|\[|\(|,", low, maxsplit=1)[0]
    return " ".join(low.split()) or text.lower().strip()


def identify(resource: Mapping[str, Any], rxnorm_codes: Mapping[str, str] | None = None) -> DraftMedication:
    """Which tabled agent (if any) a draft MedicationRequest orders, and its drug name."""
    rid = resource.get("id")
    agent = None
    for code in _codes(resource):
        if rxnorm_codes and code in rxnorm_codes:
            agent = rxnorm_codes[code]
            break
    texts = _texts(resource)
    if agent is None:
        for t in texts:
            agent = agent_from_text(t)
            if agent:
                break
    name = agent or (generic_name(texts[0]) if texts else "")
    return DraftMedication(
        resource_id=str(rid) if rid is not None else None, agent=agent, name=name, resource=resource
    )


def draft_medications(
    draft_orders: Any, rxnorm_codes: Mapping[str, str] | None = None
) -> list[DraftMedication]:
    """Every MedicationRequest in a draftOrders Bundle, identified; other resource types are skipped."""
    if not isinstance(draft_orders, Mapping):
        return []
    out = []
    for entry in draft_orders.get("entry") or []:
        res = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(res, Mapping) and res.get("resourceType") == "MedicationRequest":
            out.append(identify(res, rxnorm_codes))
    return out


def concomitant_names(drafts: Iterable[DraftMedication], existing: Iterable[str] | None) -> list[str] | None:
    """Patient medications plus the drug names of drafts that are not tabled agents (order kept)."""
    names = list(existing or [])
    extra = [d.name for d in drafts if d.agent is None and d.name]
    if not extra:
        return list(existing) if existing is not None else None
    return list(dict.fromkeys([*names, *extra]))
