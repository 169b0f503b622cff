"""A draft MedicationRequest's dose as the order cards read it, and the ``update`` that sets another dose.

An ``update`` is offered only to a draft that can take one (:func:`no_update_reason`): it has an id (the
client replaces the order the resource names), its one dose is a ``doseQuantity`` in a mass unit (mg, g, ug or
mcg, read in mg; not tablets, a range or several instructions), and its product states no other strength than
the new dose. The update replaces every dose[x] of that dose (a choice element) and leaves out the
instruction's free text, which states the old dose; it never writes into the sig. The cards that use these
are in :mod:`netcds.fhir.dose_cards`; a draft whose dose is an amount in a unit netcds cannot read as a mass
(mL, tablets, none), or is given only as a range (doseRange), gets a card saying its dose was not compared
(:func:`dose_not_compared_card`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netcds.fhir.card_base import (
    UCUM,
    agent_label,
    agent_name,
    agent_page,
    card_links,
    card_source,
    cite,
    md_text,
    summary_text,
)
from netcds.fhir.dosage import repeat_days
from netcds.fhir.medication import OrderedDrug, dose_range_words, ordered_drug, stated_strengths

EPS = 1e-9


# mass units a draft's dose is read in, as mg per unit: UCUM's mg, g and ug, and mcg as orders often write it
# (the unit is read in any case, as "MG" in RxNorm's words; UCUM's codes are case-sensitive, but no other
# UCUM unit of a dose is spelled as these in another case)
MG_PER_UNIT = {"mg": 1.0, "g": 1000.0, "ug": 0.001, "mcg": 0.001, "µg": 0.001, "μg": 0.001}


def _unit_of(q: Mapping[str, Any]) -> str | None:
    """A dose quantity's unit as a card shows it: its ``unit`` words ("tablet") when it has them, else its
    ``code`` ("{tbl}")."""
    for key in ("unit", "code"):
        value = q.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def mg_factor(q: Mapping[str, Any]) -> float | None:
    """mg per unit of a dose quantity, by its code, else its unit words (None: no mass unit netcds reads)."""
    for key in ("code", "unit"):
        value = q.get(key)
        if isinstance(value, str) and value.strip().lower() in MG_PER_UNIT:
            return MG_PER_UNIT[value.strip().lower()]
    return None


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _dose_quantities(resource: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """Every ``doseQuantity`` of the draft with its dosage instruction, in order. Reads any JSON: an element
    of an unexpected type is no dose (the hooks validate a draft before its cards are built)."""
    out = []
    instructions = resource.get("dosageInstruction")
    for di in instructions if isinstance(instructions, list) else []:
        rates = di.get("doseAndRate") if isinstance(di, Mapping) else None
        for dr in rates if isinstance(rates, list) else []:
            q = dr.get("doseQuantity") if isinstance(dr, Mapping) else None
            if isinstance(q, Mapping) and isinstance(di, Mapping):
                out.append((q, di))
    return out


def _dose_ranges(resource: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every ``doseRange`` of the draft's dosage instructions, in order (any JSON read, as above)."""
    instructions = resource.get("dosageInstruction")
    rates = [
        dr
        for di in (instructions if isinstance(instructions, list) else [])
        for dr in ((di.get("doseAndRate") if isinstance(di, Mapping) else None) or [])
        if isinstance(dr, Mapping)
    ]
    return [dr["doseRange"] for dr in rates if isinstance(dr.get("doseRange"), Mapping)]


def draft_dose_and_instruction(resource: Mapping[str, Any]) -> tuple[float, Mapping[str, Any]] | None:
    """The first dose stated as a quantity in a mass unit (mg, g, ug or mcg), in mg, and the dosage
    instruction stating it. A dose given as a string is no dose here: the hooks refuse it first
    (netcds.api.hook_checks.check_dose_numbers)."""
    for q, di in _dose_quantities(resource):
        value, factor = _number(q.get("value")), mg_factor(q)
        if value is not None and factor is not None and math.isfinite(value * factor):
            # 0.06 g is 60 mg, not 60.00000000000001 mg: twelve significant digits are more than a dose has
            return float(f"{value * factor:.12g}"), di
    return None


# FHIR Timing units of a draft's dosing period (dosage.PERIOD_DAYS without s and min: no dosing period of a
# drug netcds tables)
DRAFT_PERIOD_UNITS = ("h", "d", "wk", "mo", "a")


@dataclass(frozen=True)
class DraftSchedule:
    """The days between the doses of a draft's mg dose, read from its instruction's ``timing.repeat``
    (``frequency`` times per ``period`` ``periodUnit``), or why they were not read (``why``: said on a card,
    never passed over)."""

    days: float | None
    why: str | None = None


def _timing_not_read(di: Mapping[str, Any]) -> str | None:
    """Why the dosage instruction's timing gives no interval netcds can read (None: it gives one)."""
    timing = di.get("timing")
    if not isinstance(timing, Mapping) or not timing:
        return "the draft states no timing"
    repeat = timing.get("repeat")
    if not isinstance(repeat, Mapping) or not repeat:
        code = timing.get("code")
        words = _code_words(code) if isinstance(code, Mapping) else ""
        if words:
            return f"its timing is given only as a code ({words}), which netcds does not read"
        return "its timing states no repeat (frequency and period)"
    for key in ("frequencyMax", "periodMax"):
        if key in repeat:
            return f"its timing gives a range ({key}), not one frequency and period"
    frequency, period = repeat.get("frequency", 1), repeat.get("period")
    unit = repeat.get("periodUnit")
    if period is None:
        return "its timing states no period"
    if _positive(period) is None or _positive(frequency) is None:
        return "its timing's frequency or period is not a positive number"
    if not isinstance(unit, str) or unit not in DRAFT_PERIOD_UNITS:
        shown = md_text(str(unit)[:20]) if unit is not None else "none"
        return f"its timing's period unit ({shown}) is not one netcds reads (h, d, wk, mo, a)"
    times = [repeat.get(k) for k in ("timeOfDay", "when")]
    for listed in times:
        if isinstance(listed, list) and len(listed) > 1 and len(listed) != frequency:
            return "its timing lists times of day (timeOfDay / when) that its frequency does not count"
    days = repeat.get("dayOfWeek")
    if days is not None and not (
        isinstance(days, list) and unit == "wk" and period == 1 and len(days) == frequency
    ):
        return "its timing names days of the week (dayOfWeek), which netcds does not count"
    return None


def _code_words(code: Mapping[str, Any]) -> str:
    """A timing code as a card shows it (its text, else its first coding's code), escaped and bounded."""
    text = code.get("text")
    codings = code.get("coding")
    first = codings[0] if isinstance(codings, list) and codings and isinstance(codings[0], Mapping) else {}
    words = text if isinstance(text, str) and text.strip() else first.get("code")
    return md_text(" ".join(words.split())[:40]) if isinstance(words, str) and words.strip() else ""


def _positive(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    return float(value) if ok else None


def draft_schedule(resource: Mapping[str, Any]) -> DraftSchedule | None:
    """The interval between the doses of the draft's mg dose (:func:`draft_dose_and_instruction`), in days,
    or why it is not read: no timing, a timing given only as a code (BID), a range, a unit or form netcds
    does not read, or doses in several instructions (their total per day is not one instruction's). None
    when the draft states no mg dose."""
    found = draft_dose_and_instruction(resource)
    if found is None:
        return None
    if len(_dose_quantities(resource)) > 1 or len(_dose_ranges(resource)) > 0:
        return DraftSchedule(None, "it states doses in several dosage instructions or doseAndRate entries")
    why = _timing_not_read(found[1])
    if why is not None:
        return DraftSchedule(None, why)
    return DraftSchedule(repeat_days(found[1]["timing"]["repeat"]))


def interval_words(days: float) -> str:
    """Days between doses in words: "day", "12 hours", "3 weeks" (a card's "per ..." / "every ...")."""
    for unit_days, one, many in ((7.0, "week", "weeks"), (1.0, "day", "days"), (1 / 24, "hour", "hours")):
        n = days / unit_days
        if abs(n - round(n)) < 1e-6 and round(n) >= 1:
            return one if round(n) == 1 else f"{round(n)} {many}"
    return f"{float(f'{days:.3g}'):g} days"


def draft_dose_mg(resource: Mapping[str, Any]) -> float | None:
    """The dose of a draft MedicationRequest in mg, when stated as a quantity in a mass unit."""
    found = draft_dose_and_instruction(resource)
    return found[0] if found else None


def dose_not_read(resource: Mapping[str, Any]) -> tuple[str, str] | None:
    """When the draft states a dose amount but in no unit netcds reads as a mass (mL, tablets, no unit at
    all), so its dose cannot be compared with a labelled mg dose: the dose as ordered ("5 mL") and why ("unit
    mL", "no unit"), from its first such ``doseQuantity``; or states its dose only as a ``doseRange`` (a range
    is not one dose, even with equal bounds: "5-10 mg"). None when a dose is read in mg, or none is stated
    as an amount or a range."""
    if draft_dose_and_instruction(resource) is not None:
        return None
    for q, _ in _dose_quantities(resource):
        value = _number(q.get("value"))
        if value is None:
            continue
        unit = _unit_of(q)
        shown = unit if unit is None or len(unit) <= 30 else unit[:29] + "…"
        amount = f"{dose_value(value)}" + (f" {shown}" if shown else "")
        return amount, f"unit {shown}" if shown else "no unit"
    for rng in _dose_ranges(resource):
        return dose_range_words(rng), "a dose range (doseRange), not one dose"
    return None


def _only_mg_dose(resource: Mapping[str, Any]) -> float | None:
    """The draft's dose in mg when it is the order's one dose and a mass ``doseQuantity`` (one instruction
    with one ``doseAndRate``): the only dose an ``update`` can set without changing what the order means."""
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


# from here on an integral dose is printed as Python prints a float ("1e+16"): written out in full, a dose of
# 1e308 mg filled a card with 309 digits; tiny doses print so already ("1e-300")
COMPACT_FROM = 1e16


def dose_value(mg: float) -> int | float:
    """A dose as card text prints it: a whole number without ".0" (60, 600000), else the float ("37.5");
    a huge one compactly ("1e+308"), as a tiny one is ("1e-300")."""
    return int(mg) if float(mg).is_integer() and abs(mg) < COMPACT_FROM else float(mg)


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


def dose_not_compared_card(
    agent: str, draft: Mapping[str, Any], labelled: str, source: Any, base_url: str
) -> dict[str, Any] | None:
    """An info card saying the draft's dose was not compared with the labelled dose because its unit cannot
    be read as a mass (:func:`dose_not_read`), instead of passing over it; ``labelled``: the card line of the
    dose it would have been compared with (e.g. "**Labelled dose for this patient:** 60 mg"), ``source``: that
    dose's source. None when the draft's dose is read in mg or it states no amount. The order's words are
    record text (escaped)."""
    found = dose_not_read(draft)
    if found is None:
        return None
    ordered, why = found
    label, name = agent_label(agent), agent_name(agent)
    src_label, src_url = cite(source)
    lines = [
        f"**Draft {name} dose:** {md_text(ordered)}, ordered dose not compared: {md_text(why)} (netcds "
        "compares a dose stated as an amount in mg, g, ug or mcg)",
        labelled,
        "This is not an all-clear: the ordered amount has not been checked against the labelled dose.",
        f"**Dose source:** {src_label}",
    ]
    return {
        "summary": summary_text(
            f"{label}: ordered dose not compared with the labelled dose: {md_text(why, emphasis=False)}"
        ),
        "indicator": "info",
        "detail": "\n\n".join(lines),
        "source": card_source(src_label, src_url, "dose-adjustment", "Dose adjustment"),
        "links": card_links(agent_page(base_url, agent), f"netcds: {label} dosing information"),
    }
