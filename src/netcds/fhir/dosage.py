"""The dose (in mg) and dosing interval of a medication record, and which octreotide it is (the long-acting
injection or short-acting / oral octreotide)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.read import bound, cc_text, codings, has_code, no_value_reason, quantity

PERIOD_DAYS = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0, "a": 365.0}
ORAL_ROUTE = "26643006"  # SNOMED CT Oral route (FHIR R4 route-codes)


def dose_in_mg(q: Any, notes: list[str]) -> float | None:
    """A dose Quantity in mg, or None (``notes`` says why when one is recorded but not read)."""
    qq = quantity(q)
    if qq is None:
        if bound(q) is not None:  # "<100 mg" is no dose: the report says so
            notes.append(no_value_reason("dose", q))
        return None
    value, unit = qq
    factor = {"mg": 1.0, "g": 1000.0, "ug": 0.001, "mcg": 0.001, "µg": 0.001}.get(unit.lower())
    if factor is None:
        notes.append(f"dose unit {unit!r} is not convertible to mg")
        return None
    mg = round(value * factor, 4)
    if not 0 < mg <= 100000:
        notes.append(f"dose {mg:g} mg outside 0-100000")
        return None
    return mg


def repeat_days(rep: Mapping[str, Any]) -> float:
    """The days between doses a ``timing.repeat`` gives (``period`` in a unit of :data:`PERIOD_DAYS`, over
    ``frequency``, 1 when absent); the caller has checked the period and its unit."""
    return float(rep["period"]) * PERIOD_DAYS[str(rep["periodUnit"])] / float(rep.get("frequency") or 1)


def dose_interval(dosage: dict[str, Any], notes: list[str]) -> float | None:
    """The days between doses of a Dosage's timing.repeat, or None."""
    rep = (dosage.get("timing") or {}).get("repeat") or {}
    if rep.get("period") is None or rep.get("periodUnit") not in PERIOD_DAYS:
        return None
    days = repeat_days(rep)
    if not 0 < days <= 365:
        notes.append(f"dosing interval {days:g} days outside 0-365")
        return None
    return round(days, 3)


def octreotide_kind(cc: Any, dose_mg: float | None, dosage: dict[str, Any]) -> tuple[str, str]:
    """octreotide_lar or short-acting/oral octreotide, with a note for the oral form."""
    words = " ".join([cc_text(cc), *(d for _, _, d in codings(cc)), cc_text(dosage.get("route"))]).lower()
    oral_words = next(v for k, v in C.TEXT_RULES.items() if k.startswith("Oral octreotide"))
    if has_code(dosage.get("route"), C.SNOMED, {ORAL_ROUTE}) or any(
        re.search(rf"(?<![a-z]){w}(?![a-z])", words) for w in oral_words
    ):
        return "octreotide", "oral octreotide (route oral / capsule): not the long-acting injection"
    if any(re.search(rf"(?<![a-z]){w}(?![a-z])", words) for w in C.OCTREOTIDE_LAR_WORDS):
        return "octreotide_lar", ""
    if dose_mg is not None and dose_mg >= C.OCTREOTIDE_LAR_MIN_MG:
        return "octreotide_lar", ""
    return "octreotide", ""
