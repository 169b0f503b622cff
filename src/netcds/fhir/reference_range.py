"""The upper limit of normal a lab Observation gives this patient (FHIR R4 ``Observation.referenceRange``):
only a normal range, for the patient's sex and age; several that disagree, or none, leave it unknown."""

from __future__ import annotations

from typing import Any

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.condition_state import age_on
from netcds.fhir.context import Ctx
from netcds.fhir.read import Res, cc_text, code_label, codings, day_span, quantity

# FHIR R4 Observation.referenceRange: ``type`` from referencerange-meaning (only ``normal``, or no type, gives
# the upper limit of normal), ``appliesTo`` the population (several concepts all apply, an AND), ``age``
RANGE_MEANING = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
SEX_CONCEPT = {"248152002": "female", "248153007": "male"}  # SNOMED CT Female / Male (finding)
# units of a Range of ages (UCUM a, mo, wk, d and their words) -> the UCUM unit
AGE_UNITS = {
    **dict.fromkeys(("a", "year", "years"), "a"), **dict.fromkeys(("mo", "month", "months"), "mo"),
    **dict.fromkeys(("wk", "week", "weeks"), "wk"), **dict.fromkeys(("d", "day", "days"), "d"),
}  # fmt: skip


# Units of a result and of its reference range that measure the same thing on another scale, each as its
# factor to one unit of the kind (``same_scale``). Enzyme activity (ALT, AST): the unit U (= IU, 1 umol/min)
# and the SI katal, 1 ukat/L = 60 U/L (1 kat = 1 mol/s; IFCC/UCUM). Total bilirubin: mg/dL, mg/L and umol/L,
# 1 mg/dL = 17.1 umol/L (molar mass of bilirubin 584.66 g/mol). Units are compared without spaces, in lower
# case; "u" stands for the micro sign as well.
SCALES: dict[str, dict[str, float]] = {
    "enzyme": {"u/l": 1.0, "iu/l": 1.0, "[iu]/l": 1.0, "ukat/l": 60.0, "nkat/l": 0.06, "kat/l": 6e7},
    "bilirubin": {"mg/dl": 1.0, "mg/l": 0.1, "umol/l": 1 / 17.1, "mmol/l": 1000 / 17.1},
}
SCALE_OF_FIELD = {"alt_x_uln": "enzyme", "ast_x_uln": "enzyme", "bilirubin_x_uln": "bilirubin"}


def _unit_key(unit: str) -> str:
    return unit.replace(" ", "").replace("\u00b5", "u").replace("\u03bc", "u").lower()


def same_scale(field: str, unit: str, range_unit: str) -> float | None:
    """The factor bringing a value in ``unit`` to the scale of its reference range's ``range_unit`` for
    ``field``: 1 when they are the same unit (or either is not stated: read as the same, as before), the
    ratio of their :data:`SCALES` when both are units of the field's kind, else None (not comparable)."""
    if not unit or not range_unit or _unit_key(unit) == _unit_key(range_unit):
        return 1.0
    scales = SCALES.get(SCALE_OF_FIELD.get(field, ""), {})
    mine, theirs = scales.get(_unit_key(unit)), scales.get(_unit_key(range_unit))
    return None if mine is None or theirs is None else mine / theirs


def _range_sex(cc: Any) -> str | None:
    """``female``/``male`` when an ``appliesTo`` concept names that sex, else None."""
    for system, code, display in codings(cc):
        if system == C.SNOMED and code in SEX_CONCEPT:
            return SEX_CONCEPT[code]
        if display.strip().lower() in ("female", "male"):
            return display.strip().lower()
    text = str(cc.get("text", "")).strip().lower() if isinstance(cc, dict) else ""
    return text if text in ("female", "male") else None


def _age_in(ctx: Ctx, unit: str) -> int | None:
    """The patient's age on the record date in completed ``unit`` (UCUM a, mo, wk, d), from
    ``Patient.birthDate``; None when it is unknown."""
    if ctx.patient is None or ctx.as_of is None:
        return None
    raw = ctx.patient.data.get("birthDate")
    span = day_span(raw) if raw else None
    if span is None or span[0] != span[1] or span[0] > ctx.as_of:  # none, partial, or after the record date
        return None
    birth, as_of = span[0], ctx.as_of
    if unit == "a":
        return age_on(birth, as_of)
    if unit == "mo":
        return (as_of.year - birth.year) * 12 + as_of.month - birth.month - (as_of.day < birth.day)
    days = (as_of - birth).days
    return days // 7 if unit == "wk" else days


def _range_skip(ctx: Ctx, rng: dict[str, Any], sex: str | None) -> str | None:
    """Why a reference range does not give this patient's upper limit of normal, or None when it does."""
    kind = rng.get("type")
    if kind is not None:
        coded = [(s, c) for s, c, _ in codings(kind)]
        normal = (RANGE_MEANING, "normal") in coded or (
            not coded and cc_text(kind).strip().lower() in ("normal", "normal range")
        )
        if not normal:
            return f"its type {code_label(kind)!r} is not the normal range"
    for cc in rng.get("appliesTo") or []:
        applies = _range_sex(cc)
        if applies is None:
            return f"it applies to {cc_text(cc) or code_label(cc)!r}, a population netcds does not match"
        if sex not in ("female", "male"):
            return f"it applies to {applies} patients and the patient's sex is not recorded as female or male"
        if applies != sex:
            return f"it applies to {applies} patients"
    age = rng.get("age")
    if isinstance(age, dict) and (age.get("low") or age.get("high")):
        for end in ("low", "high"):
            if age.get(end) is None:
                continue
            q = quantity(age.get(end))
            unit = AGE_UNITS.get(q[1].strip().lower()) if q is not None else None
            if q is None or unit is None:
                return f"its age range {end} is not a number of years, months, weeks or days (UCUM a/mo/wk/d)"
            age_now = _age_in(ctx, unit)
            if age_now is None:
                return "it applies to an age range and the patient's age on the record date is unknown"
            if (end == "low" and age_now < q[0]) or (end == "high" and age_now > q[0]):
                return "the patient's age is outside its age range"
    return None


def upper_limit(ctx: Ctx, res: Res, field: str, sex: str | None) -> tuple[float, str] | None:
    """The upper limit of normal for this patient from ``referenceRange``; None (reported) when no range
    with a high limit applies to the patient, or several do and their limits differ."""
    cc = res.data.get("code")
    ranges = [r for r in res.data.get("referenceRange", []) or [] if isinstance(r, dict)]
    with_high = [r for r in ranges if quantity(r.get("high")) is not None]
    if not with_high:
        ctx.unmapped(res, f"{field}: no reference range upper limit, so x ULN cannot be computed", cc)
        return None
    fits: list[tuple[float, str]] = []
    skipped: list[str] = []
    for i, rng in enumerate(with_high):
        why = _range_skip(ctx, rng, sex)
        high = quantity(rng.get("high"))
        if why is None and high is not None:
            fits.append(high)
        else:
            skipped.append(f"range {i + 1}: {why}")
    if not fits:
        ctx.unmapped(
            res,
            f"{field}: no reference range applies to this patient ({'; '.join(skipped)}), so x ULN cannot "
            "be computed; left unknown",
            cc,
        )
        return None
    if len(set(fits)) > 1:
        listing = ", ".join(f"{v:g} {u}".strip() for v, u in sorted(set(fits)))
        ctx.unmapped(
            res,
            f"{field}: several reference ranges apply to this patient with different upper limits "
            f"({listing}); which one is the patient's is not stated, so x ULN is left unknown",
            cc,
        )
        return None
    return fits[0]
