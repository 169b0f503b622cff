"""Patient demographics, vitals, labs and comorbidity conditions -> top-level and ``comorbidities``."""

from __future__ import annotations

import re
from typing import Any

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.condition_state import age_on, condition_on
from netcds.fhir.context import Ctx
from netcds.fhir.precedence import Cand, pick_latest
from netcds.fhir.read import (
    Res,
    cc_text,
    codings,
    extensions,
    no_value_reason,
    parse_date,
    quantity,
)
from netcds.fhir.recency import recent_only
from netcds.fhir.reference_range import same_scale, upper_limit
from netcds.fhir.reproductive import is_pregnancy, map_reproductive
from netcds.fhir.scope import icd10, in_error, refuted, unconfirmed

HYPERTENSION_EXCLUDE = ("pulmonary", "portal", "intracranial", "ocular", "gestational")
# Whether hypertension is controlled, from the Condition's words: only a clear phrase decides. "controlled"
# alone is read only when no negation, hedge or past-tense word stands anywhere else in the words
# ("Hypertension, not controlled" is uncontrolled, never "controlled"; "partially controlled", "controlled?",
# "previously uncontrolled", or both phrases together leave it unknown, reported).
HTN_UNCONTROLLED = re.compile(
    r"\b(?:un-?controlled|not (?:well |adequately |fully |properly |sufficiently )?controlled|"
    r"(?:poorly|inadequately|insufficiently|badly|sub-?optimally) controlled|out of control)\b"
)
HTN_CONTROLLED = re.compile(r"\b(?:well[- ]|adequately )?controlled\b")
HTN_HEDGE = re.compile(
    r"\?|\b(?:not|no|never|without|partial\w*|partly|borderline|poor\w*|inadequat\w*|insufficient\w*|"
    r"sub-?optimal\w*|possibl\w*|probabl\w*|maybe|unclear|unknown|uncertain|question\w*|labile|"
    r"difficult|hard|resistant|refractory|previous\w*|former\w*|prior|past|history|was|until|earlier|"
    r"before|then|now)\b"
)
# plausible ranges, as in the Patient model; values outside are reported, never clamped
RANGES: dict[str, tuple[float, float]] = {
    "hemoglobin_g_dl": (0, 30), "platelets_per_ul": (0, 5_000_000), "neutrophils_per_ul": (0, 500_000),
    "alt_x_uln": (0, 1000), "ast_x_uln": (0, 1000), "bilirubin_x_uln": (0, 1000),
    "creatinine_clearance_ml_min": (0, 300), "lvef_percent": (0, 100), "weight_kg": (0.001, 500),
}  # fmt: skip


def map_patient(ctx: Ctx, out: dict[str, Any]) -> None:
    patients = list(ctx.of_type("Patient"))
    if not patients:
        return
    res = patients[0]
    ctx.patient = res
    for other in patients[1:]:
        ctx.unmapped(other, f"a second Patient resource; {res.ref} is the subject mapped")
    d = res.data
    if d.get("id"):
        out["id"] = str(d["id"])[:200]
        ctx.mapped("id", out["id"], res)
    gender = d.get("gender")
    if gender in ("female", "male", "other", "unknown"):
        out["sex"] = gender
        ctx.mapped("sex", gender, res, note="Patient.gender")
    birth = parse_date(d.get("birthDate"), f"{res.loc}.birthDate")
    if birth is not None and ctx.as_of is not None:
        if birth > ctx.as_of:
            ctx.unmapped(res, f"birthDate {birth} is after as_of {ctx.as_of}: age not computed")
        else:
            out["age_years"] = float(age_on(birth, ctx.as_of))
            ctx.mapped("age_years", out["age_years"], res, note=f"birthDate {birth} as of {ctx.as_of}")
    elif birth is not None:
        ctx.unmapped(res, "birthDate present but no as_of date given: age not computed (no clock is read)")
    elif d.get("birthDate"):
        ctx.unmapped(res, f"birthDate {d['birthDate']} is partial (year or year-month): age not computed")
    if d.get("deceasedBoolean") is True or d.get("deceasedDateTime"):
        ctx.unmapped(res, "patient recorded as deceased")
    ctx.used.add(res.loc)


def _unit_factor(field: str, unit: str) -> float | None:
    """Factor converting ``unit`` to the Patient field's unit, or None if not convertible."""
    u = unit.replace(" ", "").lower()
    if field == "weight_kg":
        return {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237, "lbs": 0.45359237}.get(u)
    if field == "hemoglobin_g_dl":
        return {"g/dl": 1.0, "g/l": 0.1}.get(u)
    if field in ("platelets_per_ul", "neutrophils_per_ul"):  # a cubic millimetre is a microlitre
        return {"10*3/ul": 1000.0, "10^3/ul": 1000.0, "k/ul": 1000.0, "10*9/l": 1000.0, "10^9/l": 1000.0,
                "/ul": 1.0, "{cells}/ul": 1.0, "cells/ul": 1.0, "/mm3": 1.0, "/mm[3]": 1.0, "/mm^3": 1.0,
                "{cells}/mm3": 1.0, "cells/mm3": 1.0, "10*3/mm3": 1000.0, "10^3/mm3": 1000.0,
                "k/mm3": 1000.0}.get(u)  # fmt: skip
    if field == "creatinine_clearance_ml_min":
        return {"ml/min": 1.0}.get(u)
    if field == "lvef_percent":
        return {"%": 1.0}.get(u)
    return None


def _in_range(ctx: Ctx, res: Res, field: str, value: float) -> bool:
    lo, hi = RANGES[field]
    if lo <= value <= hi:
        return True
    ctx.unmapped(
        res,
        f"{field}: {value:g} is outside the plausible range {lo:g}-{hi:g} (check the unit)",
        res.data.get("code"),
    )
    return False


def _lab_value(ctx: Ctx, res: Res, field: str, sex: str | None = None) -> float | None:
    q = quantity(res.data.get("valueQuantity"))
    cc = res.data.get("code")
    if q is None:
        ctx.unmapped(res, no_value_reason(field, res.data.get("valueQuantity")), cc)
        return None
    value, unit = q
    if field.endswith("_x_uln"):
        high = upper_limit(ctx, res, field, sex)
        if high is None:
            return None
        if high[0] <= 0:
            ctx.unmapped(res, f"{field}: no reference range upper limit, so x ULN cannot be computed", cc)
            return None
        scale = same_scale(field, unit, high[1])  # the value's unit in the range's (U/L and ukat/L ...)
        if scale is None:
            ctx.unmapped(
                res, f"{field}: value unit {unit!r} differs from reference range unit {high[1]!r}", cc
            )
            return None
        value = round(value * scale / high[0], 3)
    else:
        factor = _unit_factor(field, unit)
        if factor is None:
            ctx.unmapped(res, f"{field}: unit {unit!r} not convertible", cc)
            return None
        value = round(value * factor, 3)
    return value if _in_range(ctx, res, field, value) else None


def map_vitals_labs(ctx: Ctx, kinds: dict[str, list[Res]], out: dict[str, Any]) -> None:
    weights: list[Cand] = []
    for res in kinds.pop("weight", []):
        q = quantity(res.data.get("valueQuantity"))
        if q is None:
            ctx.unmapped(
                res, no_value_reason("body weight", res.data.get("valueQuantity")), res.data.get("code")
            )
            continue
        factor = _unit_factor("weight_kg", q[1])
        if factor is None:
            ctx.unmapped(res, "body weight without a kg/g/lb value", res.data.get("code"))
            continue
        kg = round(q[0] * factor, 2)
        if _in_range(ctx, res, "weight_kg", kg):
            weights.append(Cand(res, kg, res.data.get("code"), note=f"{q[0]:g} {q[1]}"))
    # the newest weight and labs recent enough for the record date (netcds.fhir.recency.FRESH_DAYS)
    if (kg_value := pick_latest(ctx, "weight_kg", recent_only(ctx, "weight_kg", weights))) is not None:
        out["weight_kg"] = kg_value
    map_reproductive(ctx, kinds, out)
    labs: dict[str, list[Cand]] = {}
    for res in kinds.pop("lab", []):
        loinc = next(c for s, c, _ in codings(res.data.get("code")) if s == C.LOINC and c in C.LAB_FIELD)
        field = C.LAB_FIELD[loinc]
        v = _lab_value(ctx, res, field, out.get("sex"))
        if v is not None:
            labs.setdefault(field, []).append(Cand(res, v, res.data.get("code")))
    for field, cands in sorted(labs.items()):
        label = f"comorbidities.{field}"
        if (lab := pick_latest(ctx, label, recent_only(ctx, field, cands, label))) is not None:
            out["comorbidities"][field] = lab


# ---- comorbidity conditions ------------------------------------------------------------------------
def comorbidity_of(cc: Any) -> str | None:
    text = cc_text(cc).lower()
    for system, code, _ in codings(cc):
        if system == C.ICD10:
            c = icd10(code)
            for prefix in sorted(C.COMORBIDITY_ICD10, key=len, reverse=True):
                if c.startswith(prefix):
                    return C.COMORBIDITY_ICD10[prefix]
        if system == C.SNOMED and code in C.COMORBIDITY_SNOMED:
            return C.COMORBIDITY_SNOMED[code]
    if "hypertensi" in text and not any(w in text for w in HYPERTENSION_EXCLUDE):
        return "hypertension"
    if "diabetes mellitus" in text:
        return "diabetes"
    if "heart failure" in text:
        return "heart_failure"
    if "interstitial lung disease" in text:
        return "interstitial_lung_disease"
    return None


def hypertension_control(words: str) -> tuple[str | None, str]:
    """``("controlled" | "uncontrolled", "")`` when the words say so clearly (:data:`HTN_UNCONTROLLED`,
    :data:`HTN_CONTROLLED`), else ``(None, why)``."""
    text = " ".join(words.lower().split())
    if "control" not in text:
        return None, "whether it is controlled is not recorded"
    unclear = f"whether it is controlled is unclear from the words {words.strip()!r}"
    rest = HTN_UNCONTROLLED.sub(" ", text)
    if rest != text:
        found = "uncontrolled"
    else:
        rest = HTN_CONTROLLED.sub(" ", text)
        found = "controlled"
    if "control" in rest or HTN_HEDGE.search(rest):
        return None, unclear
    return found, ""


def _set_present(ctx: Ctx, res: Res, kind: str, cc: Any, com: dict[str, Any]) -> None:
    if kind in ("diabetes", "heart_failure", "interstitial_lung_disease"):
        com[kind] = True
        ctx.mapped(f"comorbidities.{kind}", True, res, cc)
    elif kind == "hypertension":
        control, why = hypertension_control(cc_text(cc))
        if control is not None:
            com["hypertension"] = control
            ctx.mapped("comorbidities.hypertension", control, res, cc)
        else:
            ctx.unmapped(
                res, f"hypertension present, but {why} (comorbidities.hypertension stays unknown)", cc
            )
    elif kind == "hepatic_impairment":
        ctx.unmapped(
            res,
            "liver disease present, but its severity (Child-Pugh) is not recorded "
            "(comorbidities.hepatic_impairment stays unknown)",
            cc,
        )


def _set_absent(ctx: Ctx, res: Res, kinds: tuple[str, ...], cc: Any, com: dict[str, Any]) -> None:
    for kind in kinds:
        value: Any = "none" if kind in ("hypertension", "hepatic_impairment") else False
        if com.get(kind) not in (None, value):
            ctx.unmapped(res, f"{kind} recorded absent here but present elsewhere; presence kept", cc)
            continue
        com[kind] = value
        ctx.mapped(f"comorbidities.{kind}", value, res, cc, note="recorded absent")


def _absent_kinds(cc: Any) -> tuple[str, ...]:
    for system, code, _ in codings(cc):
        if system == C.SNOMED and code in C.COMORBIDITY_ABSENT_ONLY:
            return C.COMORBIDITY_ABSENT_ONLY[code]
    kind = comorbidity_of(cc)
    return (kind,) if kind else ()


def map_comorbidities(
    ctx: Ctx, conditions: list[Res], comorbidity_obs: list[Res], out: dict[str, Any]
) -> None:
    com: dict[str, Any] = out["comorbidities"]
    other: list[str] = []
    absent_later: list[tuple[Res, Any]] = []
    for res in conditions:
        cc = res.data.get("code")
        if is_pregnancy(cc):  # read for ``pregnant`` (map_reproductive), not a comorbidity
            continue
        if in_error(res):
            ctx.unmapped(res, "entered in error", cc)
            continue
        if refuted(res):
            absent_later.append((res, cc))
            continue
        if (status := unconfirmed(res)) is not None:
            ctx.unmapped(res, f"condition is {status} (verification status), not confirmed: not used", cc)
            continue
        state, why = condition_on(ctx, res)
        if state != "present":
            ctx.unmapped(res, f"condition {why}" if state == "not_active" else why, cc)
            continue
        kind = comorbidity_of(cc)
        if kind:
            _set_present(ctx, res, kind, cc, com)
        else:
            label = cc_text(cc) or "unnamed condition"
            other.append(label[:200])
            ctx.mapped("comorbidities.other", label[:200], res, cc)
    for obs in comorbidity_obs:  # mCODE Comorbidities: related-condition / related-condition-absent
        ctx.use(obs)
        for ext in extensions(obs.data, "mcode-related-condition-absent"):
            absent_later.append((obs, ext.get("valueCodeableConcept")))
        for ext in extensions(obs.data, "mcode-related-condition"):
            ref = ext.get("valueReference")
            if isinstance(ref, dict) and ctx.resolve(ref) is None:
                ctx.report.skip(obs.ref, f"related condition {ref.get('reference')} is not in the input")
            elif ctx.resolve(ref) is None and ext.get("valueCodeableConcept") is not None:
                cc = ext["valueCodeableConcept"]
                kind = comorbidity_of(cc)
                if kind:
                    _set_present(ctx, obs, kind, cc, com)
                else:
                    other.append(cc_text(cc)[:200] or "unnamed condition")
                    ctx.mapped("comorbidities.other", other[-1], obs, cc)
    for res, cc in absent_later:
        kinds = _absent_kinds(cc)
        if kinds:
            _set_absent(ctx, res, kinds, cc, com)
        else:
            ctx.unmapped(
                res, f"recorded absent: {cc_text(cc) or 'condition'} (not a field netcds tracks)", cc
            )
    if other:
        com["other"] = sorted(set(other))


def _is_vhl(cc: Any) -> bool:
    return any(
        C.lookup(C.VHL_CONDITION, system, icd10(code) if system == C.ICD10 else code)
        for system, code, _ in codings(cc)
    )


def map_vhl_conditions(ctx: Ctx, conditions: list[Res], out: dict[str, Any]) -> None:
    """A confirmed von Hippel-Lindau disease diagnosis sets biomarkers.germline_vhl = true.

    VHL disease is the hereditary syndrome caused by a germline VHL pathogenic variant
    (NCI PDQ "Von Hippel-Lindau Disease", NBK568506), so the diagnosis states the germline
    alteration the guideline asks for. A genetic result recorded as an Observation decides
    first; a conflict leaves the field unknown. Refuted or unconfirmed diagnoses set nothing."""
    bio: dict[str, Any] = out["biomarkers"]
    field = "biomarkers.germline_vhl"
    for res in conditions:
        cc = res.data.get("code")
        if not _is_vhl(cc):
            continue
        if in_error(res) or refuted(res) or (status := unconfirmed(res)) is not None:
            why = (
                "refuted or entered in error" if in_error(res) or refuted(res) else f"{status}, not confirmed"
            )
            ctx.report.skip(res.ref, f"von Hippel-Lindau disease {why}: {field} not set from it")
            continue
        if bio.get("germline_vhl") is False:
            bio.pop("germline_vhl")
            for m in [m for m in ctx.report.mapped if m.field == field]:
                ctx.report.skip(m.from_.split()[0], f"germline VHL absent, but {res.ref} records VHL disease")
            ctx.report.mapped = [m for m in ctx.report.mapped if m.field != field]
            ctx.report.skip(
                res.ref,
                f"von Hippel-Lindau disease diagnosed, but a germline VHL result is recorded absent: {field} "
                "left unknown (conflict)",
            )
            continue
        note = "von Hippel-Lindau disease: the syndrome of a germline VHL alteration"
        if bio.get("germline_vhl") is True:
            note += "; agrees with the genetic result"
        bio["germline_vhl"] = True
        ctx.mapped(field, True, res, cc, note=note)
