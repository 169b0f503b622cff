"""The drug a (draft) MedicationRequest orders, read as FHIR R4 states it.

``medication[x]`` is either a ``medicationCodeableConcept`` or a ``medicationReference``. A reference is
followed to a Medication contained in the order (``#id``), to a Medication entry of the Bundle the order
came in (CDS Hooks ``context.draftOrders``: by the entry's ``fullUrl``, or by ``Medication/<id>``), and
otherwise only its ``display`` is read. What is read: the drug's words (the concept's ``text`` and its
codings' ``display``), its RxNorm codes, and the strengths in mg the product states (in its words, e.g.
"cabozantinib 60 MG Oral Tablet", or a Medication's ``ingredient.strength``). When nothing names the drug,
``unread`` says why, so the order is reported as not checked rather than passed over in silence; so it is
when the reference names two different Medications of the Bundle (one id or fullUrl twice): never the first.

Reading never fails on malformed input (the order checks validate a draft before they build its cards,
see netcds.api.hook_checks): a value of an unexpected type is read as absent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# a strength in mg a product's words state: "60 MG", "2.5 mg"; not a concentration ("25 MG/ML", "100 MG/4 ML",
# "100 mg per 4 mL": a solution's dose is its volume, any mg dose fits) nor a dose basis ("mg/m2", "mg/kg")
_STRENGTH = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*mg\b(?!\s*(?:/|per\b)\s*(?:\d+(?:\.\d+)?\s*)?(?:ml|l|m2|m²|kg)\b)",
    re.IGNORECASE,
)

# MedicationRequest.intent, FHIR R4 (required binding: hl7.org/fhir/R4/valueset-medicationrequest-intent.html)
# the intents that order the drug given; proposal, plan and option do not
ORDER_INTENTS = frozenset(("order", "original-order", "reflex-order", "filler-order", "instance-order"))
NO_ORDER_INTENTS = {"proposal": "a proposal", "plan": "a plan", "option": "an option"}


@dataclass(frozen=True)
class BundleMedication:
    """A Medication entry of the Bundle a draft order came in, with where it is."""

    loc: str
    resource: Mapping[str, Any]
    # where the other, different Medications the same reference names are (two entries with one id or
    # fullUrl): which one an order means cannot be told, so none is read for it
    clash: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrderedDrug:
    """The drug of a MedicationRequest as its order states it."""

    texts: tuple[str, ...] = ()  # the drug's words: concept text, codings' displays, the reference's display
    codes: tuple[str, ...] = ()  # RxNorm codes
    ingredient_mg: tuple[float, ...] = ()  # strengths in mg a referenced Medication's ingredients state
    medication: BundleMedication | None = None  # the Bundle's Medication entry the order references
    unread: str | None = None  # why no drug could be read (None: read)
    named_by: str = "medicationCodeableConcept"  # the element the drug was read from

    @property
    def strengths_mg(self) -> list[float]:
        """Every strength in mg the product states, in its words or its ingredients (read when needed: only
        an order check that offers a dose change looks at them)."""
        return [*stated_strengths(self.texts), *self.ingredient_mg]


def _concept_texts(concept: Any) -> list[str]:
    if not isinstance(concept, Mapping):
        return []
    out = [concept["text"]] if isinstance(concept.get("text"), str) and concept["text"].strip() else []
    codings = concept.get("coding")
    for c in codings if isinstance(codings, list) else []:
        if isinstance(c, Mapping) and isinstance(c.get("display"), str) and c["display"].strip():
            out.append(c["display"])
    return out


def _concept_codes(concept: Any) -> list[str]:
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    return [
        str(c["code"])
        for c in (codings if isinstance(codings, list) else [])
        if isinstance(c, Mapping) and c.get("system") == RXNORM and isinstance(c.get("code"), str | int)
    ]


def _ingredient_strengths(medication: Mapping[str, Any]) -> list[float]:
    """Strengths in mg stated by a Medication's ``ingredient[].strength`` (a Ratio's numerator)."""
    out: list[float] = []
    ingredients = medication.get("ingredient")
    for ing in ingredients if isinstance(ingredients, list) else []:
        strength = ing.get("strength") if isinstance(ing, Mapping) else None
        numerator = strength.get("numerator") if isinstance(strength, Mapping) else None
        if not isinstance(numerator, Mapping):
            continue
        value, unit = numerator.get("value"), str(numerator.get("code") or numerator.get("unit") or "")
        denominator = strength.get("denominator") if isinstance(strength, Mapping) else None
        per = (
            str(denominator.get("code") or denominator.get("unit") or "")
            if isinstance(denominator, Mapping)
            else ""
        )
        if per.lower() in ("ml", "l"):  # a concentration: any mg dose is some volume of it
            continue
        if isinstance(value, int | float) and not isinstance(value, bool) and unit.lower() == "mg":
            out.append(float(value))
    return out


def stated_strengths(texts: Sequence[str]) -> list[float]:
    """Strengths in mg that product words state ("cabozantinib 60 MG Oral Tablet" -> [60.0])."""
    return [float(m.group(1)) for t in texts for m in _STRENGTH.finditer(t)]


def bundle_medications(bundle: Any, prefix: str) -> dict[str, BundleMedication]:
    """The Medication entries of a Bundle by the references naming them (``fullUrl``, ``Medication/id``)."""
    out: dict[str, BundleMedication] = {}
    entries = bundle.get("entry") if isinstance(bundle, Mapping) else None
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        res = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(res, Mapping) or res.get("resourceType") != "Medication":
            continue
        found = BundleMedication(f"{prefix}entry[{i}].resource", res)
        if isinstance(entry.get("fullUrl"), str) and entry["fullUrl"]:
            _keep(out, entry["fullUrl"], found)
        if isinstance(res.get("id"), str) and res["id"]:
            _keep(out, f"Medication/{res['id']}", found)
    return out


def _keep(out: dict[str, BundleMedication], key: str, found: BundleMedication) -> None:
    """``found`` under ``key``; when another, different Medication is there already, the key is marked as
    naming several (``clash``), never left to the first (the same Medication twice is one)."""
    known = out.get(key)
    if known is None:
        out[key] = found
    elif found.loc not in known.clash and medication_content(known.resource) != medication_content(
        found.resource
    ):
        out[key] = BundleMedication(known.loc, known.resource, (*known.clash, found.loc))


def medication_content(medication: Mapping[str, Any]) -> dict[str, Any]:
    """What a Medication says, its metadata and narrative aside: the same Medication sent twice (e.g. included
    by two searches) says the same."""
    return {k: v for k, v in medication.items() if k not in ("meta", "text")}


def _contained(resource: Mapping[str, Any], local_id: str) -> Mapping[str, Any] | None:
    contained = resource.get("contained")
    for c in contained if isinstance(contained, list) else []:
        if isinstance(c, Mapping) and c.get("resourceType") == "Medication" and c.get("id") == local_id:
            return c
    return None


def _in_bundle(reference: str, medications: Mapping[str, BundleMedication]) -> BundleMedication | None:
    found = medications.get(reference)
    if found is None and "/Medication/" in reference:  # an absolute URL naming Medication/<id>
        found = medications.get("Medication/" + reference.rsplit("/Medication/", 1)[1].split("/")[0])
    return found


def _from_medication(
    medication: Mapping[str, Any], display: str | None, bundled: BundleMedication | None
) -> OrderedDrug | None:
    """The drug a referenced Medication names (its code, and the reference's display); None: it names none."""
    code = medication.get("code")
    texts = [*_concept_texts(code), *([display] if display else [])]
    codes = _concept_codes(code)
    if not texts and not codes:
        return None
    strengths = tuple(_ingredient_strengths(medication))
    return OrderedDrug(tuple(texts), tuple(codes), strengths, bundled, None, "medicationReference")


def ordered_drug(
    resource: Mapping[str, Any], medications: Mapping[str, BundleMedication] | None = None
) -> OrderedDrug:
    """The drug ``resource`` (a MedicationRequest) orders; ``medications``: the Bundle's Medication entries
    (:func:`bundle_medications`) a ``medicationReference`` may name."""
    concept = resource.get("medicationCodeableConcept")
    if isinstance(concept, Mapping):
        texts, codes = _concept_texts(concept), _concept_codes(concept)
        why = None if texts or codes else "its medicationCodeableConcept has no text, display or RxNorm code"
        return OrderedDrug(tuple(texts), tuple(codes), unread=why)
    ref = resource.get("medicationReference")
    if not isinstance(ref, Mapping):
        return OrderedDrug(unread="it names no drug (no medicationCodeableConcept or medicationReference)")
    target = ref.get("reference") if isinstance(ref.get("reference"), str) else None
    display = ref["display"] if isinstance(ref.get("display"), str) and ref["display"].strip() else None
    medication: Mapping[str, Any] | None = None
    bundled: BundleMedication | None = None
    if target and target.startswith("#"):
        medication = _contained(resource, target[1:])
    elif target:
        bundled = _in_bundle(target, medications or {})
        if bundled is not None and bundled.clash:  # several different Medications: none is read
            # the order's Bundle contradicts itself on the drug: the order is reported not checked (a card
            # saying why), even when the reference has a display
            where = ", ".join((bundled.loc, *bundled.clash))
            why = (
                f"its medicationReference ({target}) names {len(bundled.clash) + 1} different Medications of "
                f"the draftOrders Bundle ({where}), so which drug it orders cannot be told from them"
            )
            return OrderedDrug(unread=why, named_by="medicationReference")  # its display is not enough here
        medication = bundled.resource if bundled else None
    if medication is not None:
        drug = _from_medication(medication, display, bundled)
        if drug is not None:
            return drug
        why = f"the Medication its medicationReference ({target}) names states no code, text or display"
        return OrderedDrug(medication=bundled, unread=why, named_by="medicationReference")
    if display:
        return OrderedDrug((display,), named_by="medicationReference")
    where = f"({target}) " if target else ""
    return OrderedDrug(
        unread=f"its medicationReference {where}names no Medication contained in the order or in the "
        "draftOrders Bundle, and has no display",
        named_by="medicationReference",
    )


def not_an_order(resource: Mapping[str, Any]) -> str | None:
    """Why a MedicationRequest is no order to give its drug, or None: ``doNotPerform`` true (an order NOT to
    give it), or an ``intent`` that orders nothing (proposal, plan, option, or a code R4 does not define). A
    request stating no intent is read by its status, as before (R4 requires one)."""
    intent = resource.get("intent")
    if resource.get("doNotPerform") is True:
        return "doNotPerform true: an order not to give the drug, so no treatment given and no current drug"
    if intent is None or intent in ORDER_INTENTS:
        return None
    what = NO_ORDER_INTENTS.get(str(intent))
    if what is None:
        return f"intent {str(intent)[:40]!r} is not a FHIR R4 MedicationRequest intent: not read as an order"
    return f"intent {intent!r}: {what}, not an order to give the drug (planned, not given)"


def dose_range_words(rng: Mapping[str, Any]) -> str:
    """A ``doseRange`` as ordered, for a report line or a card ("20-30 mg", "5 mg-1 g", "?-10 mg" for a bound
    not stated as a number); bounded in length (record text)."""
    shown: list[str] = []
    units: list[str] = []
    for key in ("low", "high"):
        found = rng.get(key)
        q: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        value = q.get("value")
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        shown.append((str(value) if isinstance(value, int) else f"{value:.12g}") if ok else "?")
        unit = next((q[k] for k in ("unit", "code") if isinstance(q.get(k), str) and q[k].strip()), "")
        units.append(unit.strip())
    if units[0] == units[1]:
        words = f"{shown[0]}-{shown[1]} {units[1]}".strip()
    else:
        words = "-".join(f"{v} {u}".strip() for v, u in zip(shown, units, strict=True))
    return words if len(words) <= 60 else words[:59] + "…"
