"""A draft MedicationRequest's dose as the order cards read it, and the ``update`` that sets another dose.

An ``update`` is offered only to a draft that can take one (:func:`no_update_reason`): it has an id (the
client replaces the order the resource names), its one dose is a mg ``doseQuantity`` (not tablets, a range or
several instructions), and its product states no other strength than the new dose. The update replaces every
dose[x] of that dose (a choice element) and leaves out the instruction's free text, which states the old
dose; it never writes into the sig. The cards that use these are in :mod:`netcds.fhir.dose_cards`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from netcds.fhir.card_base import UCUM, agent_name, md_text
from netcds.fhir.medication import OrderedDrug, ordered_drug, stated_strengths

EPS = 1e-9


def draft_dose_and_instruction(resource: Mapping[str, Any]) -> tuple[float, Mapping[str, Any]] | None:
    """The first dose stated as a UCUM/mg quantity, and the dosage instruction stating it. Reads any JSON:
    an element of an unexpected type is no dose (the hooks validate a draft before its cards are built)."""
    instructions = resource.get("dosageInstruction")
    for di in instructions if isinstance(instructions, list) else []:
        rates = di.get("doseAndRate") if isinstance(di, Mapping) else None
        for dr in rates if isinstance(rates, list) else []:
            q = dr.get("doseQuantity") if isinstance(dr, Mapping) else None
            if not isinstance(q, Mapping):
                continue
            unit, value = q.get("code") or q.get("unit"), q.get("value")
            mg = isinstance(unit, str) and unit.lower() == "mg"
            if mg and isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                assert isinstance(di, Mapping)
                return float(value), di
    return None


def draft_dose_mg(resource: Mapping[str, Any]) -> float | None:
    """The dose of a draft MedicationRequest in mg, when stated as a UCUM/mg quantity."""
    found = draft_dose_and_instruction(resource)
    return found[0] if found else None


def _only_mg_dose(resource: Mapping[str, Any]) -> float | None:
    """The draft's dose when it is the order's one dose and a mg ``doseQuantity`` (one dosage instruction with
    one ``doseAndRate``): the only dose an ``update`` can set without changing what the order means."""
    instructions = resource.get("dosageInstruction")
    if (
        not isinstance(instructions, list)
        or len(instructions) != 1
        or not isinstance(instructions[0], Mapping)
    ):
        return None
    rates = instructions[0].get("doseAndRate")
    if not isinstance(rates, list) or len(rates) != 1 or not isinstance(rates[0], Mapping):
        return None
    if any(k.startswith("dose") and k != "doseQuantity" for k in rates[0]):  # dose[x] is a choice
        return None
    return draft_dose_mg(resource)


def _product_words(drug: OrderedDrug) -> str:
    """The ordered product as the order names it, for a card line (EHR text: escaped, bounded)."""
    text = next((t for t in drug.texts if stated_strengths([t])), drug.texts[0] if drug.texts else "")
    one = " ".join(text.split())
    return md_text(one if len(one) <= 80 else one[:79].rstrip() + "…")


def no_update_reason(draft: Mapping[str, Any], mg: float, drug: OrderedDrug | None = None) -> str | None:
    """Why a draft order cannot be offered as an ``update`` to ``mg`` mg; None when it can. An update needs
    the draft's id (the client replaces the order it names), one mg dose to set (not tablets, a range or
    several instructions: setting mg there would change what the order means), and a product that states
    no other strength than the new dose (a 60 mg tablet ordered at 40 mg would be an order that
    contradicts itself)."""
    rid = draft.get("id")
    if not isinstance(rid, str) or not rid:
        return "the draft order has no id, so an update could not name the order it replaces"
    if _only_mg_dose(draft) is None:
        return (
            "the draft does not state its dose as one amount in mg (it is in other units, a range, or in "
            "several instructions), so setting a mg dose on it could change what the order means"
        )
    product = drug if drug is not None else ordered_drug(draft)
    other = [x for x in product.strengths_mg if abs(x - float(mg)) > EPS]
    if other:
        stated = f"{dose_value(other[0])} mg ({_product_words(product)})"
        return (
            f"the ordered product states a strength of {stated}, which a {dose_value(mg)} mg dose does not "
            "match: the product and the dose would change together"
        )
    return None


def no_update_line(reason: str) -> str:
    return f"**No order update offered:** {reason}. Any change to the order is the prescriber's."


def with_dose(resource: Mapping[str, Any], mg: float) -> dict[str, Any]:
    """A copy of the draft MedicationRequest with its (first) dose set to ``mg`` mg as a UCUM doseQuantity,
    timing kept. Every dose[x] of that dose is replaced (a choice element holds one), and the instruction's
    free text (``text``, ``patientInstruction``) is left out: it states the old dose, and a sig is the
    prescriber's to write."""
    out = copy.deepcopy(dict(resource))
    value = dose_value(mg)
    quantity = {"value": value, "unit": "mg", "system": UCUM, "code": "mg"}
    instructions = out.get("dosageInstruction")
    instructions = instructions if isinstance(instructions, list) and instructions else [{}]
    first = dict(instructions[0]) if isinstance(instructions[0], Mapping) else {}
    rates = first.get("doseAndRate")
    rates = rates if isinstance(rates, list) and rates else [{}]
    rate0 = {
        k: v
        for k, v in (rates[0] if isinstance(rates[0], Mapping) else {}).items()
        if not k.startswith("dose")
    }
    rate0["doseQuantity"] = quantity
    first["doseAndRate"] = [rate0, *rates[1:]]
    for words in ("text", "patientInstruction"):
        first.pop(words, None)
    out["dosageInstruction"] = [first, *instructions[1:]]
    return out


def dose_value(mg: float) -> int | float:
    return int(mg) if float(mg).is_integer() else mg


def update_suggestion(agent: str, draft: Mapping[str, Any], mg: float) -> dict[str, Any]:
    """An ``update`` suggestion replacing the draft order by the same order at ``mg`` mg (timing kept); only
    for a draft :func:`no_update_reason` finds nothing against."""
    value = dose_value(mg)
    name = agent_name(agent)
    resource = with_dose(draft, float(mg))
    instructions = draft.get("dosageInstruction")
    first = instructions[0] if isinstance(instructions, list) and instructions else None
    dropped = isinstance(first, Mapping) and ("text" in first or "patientInstruction" in first)
    return {
        "label": f"Change {name} dose to {value} mg",
        "actions": [
            {
                "type": "update",
                "description": f"Set the draft {name} order's dose to {value} mg (timing kept"
                + (
                    "; its free-text dosage instructions are left out, to be written for the new dose)"
                    if dropped
                    else ")"
                ),
                "resource": resource,
            }
        ],
    }
