"""How long a lab value or a clinical measure stands for the record date (``as_of``): netcds's own
data-freshness convention for a treatment decision, not guideline or label content.

A value says how the patient was on the day it was measured. Beyond its window it is not used: the fact stays
unknown and the report names the resource and its date, so a safety check that reads it says the value is not
recorded (never that it is normal). The newest value within the window wins as before
(:func:`netcds.fhir.precedence.pick_latest`).
"""

from __future__ import annotations

from datetime import date

from netcds.fhir.context import Ctx
from netcds.fhir.dating import effective_text, first_day
from netcds.fhir.precedence import Cand

# Windows, in days before the record date, by field; netcds's convention (the docs call it so). Blood counts
# (hemoglobin, platelets, neutrophils), liver tests (ALT, AST, bilirubin) and renal function (creatinine
# clearance) can change within weeks on systemic therapy or with progressing liver metastases; the checks
# before a treatment decision and before each cycle are made on recent results (labels and trials ask for
# counts and chemistry within days to a few weeks of dosing), so a result older than 30 days no longer stands
# for the patient's current state. Body weight: doses per kg are computed from it, and weight can fall quickly
# in advanced cancer; re-weighing is routine at each cycle, so 30 days as well. LVEF (echocardiography, MUGA)
# is measured far less often and changes more slowly outside cardiotoxic therapy; a baseline within about
# three months is the common practice, hence 90 days. A value dated on the record date counts as 0 days old.
FRESH_DAYS: dict[str, int] = {
    "hemoglobin_g_dl": 30, "platelets_per_ul": 30, "neutrophils_per_ul": 30,
    "alt_x_uln": 30, "ast_x_uln": 30, "bilirubin_x_uln": 30,
    "creatinine_clearance_ml_min": 30,
    "weight_kg": 30,
    "lvef_percent": 90,
}  # fmt: skip
WHAT = {
    "hemoglobin_g_dl": "blood count", "platelets_per_ul": "blood count", "neutrophils_per_ul": "blood count",
    "alt_x_uln": "liver test", "ast_x_uln": "liver test", "bilirubin_x_uln": "liver test",
    "creatinine_clearance_ml_min": "renal function test", "weight_kg": "body weight",
    "lvef_percent": "LVEF measurement",
}  # fmt: skip


def _day(cand: Cand) -> tuple[date | None, str]:
    """The first day the value's effective date can mean, and that date as written (or why there is none)."""
    text = effective_text(cand.res)
    return (first_day(text), f"dated {text}") if text else (None, "undated")


def too_old(ctx: Ctx, field: str, cand: Cand) -> str | None:
    """Why ``cand`` cannot stand for ``field`` on the record date (:data:`FRESH_DAYS`), or None when it can.
    A partial date (``2025-05``) counts from its first day; an undated value, or one read without a record
    date, cannot be placed in time, so it does not stand either."""
    days = FRESH_DAYS[field]
    rule = (
        f"a {WHAT[field]} is used at most {days} days before the record date (netcds's freshness convention, "
        "not a guideline rule)"
    )
    if ctx.as_of is None:
        return f"no record date (as_of) is given, so whether it is recent enough cannot be told; {rule}"
    day, when = _day(cand)
    if day is None:
        return f"{when}: whether it is recent enough for the record date {ctx.as_of} cannot be told; {rule}"
    age = (ctx.as_of - day).days
    if age > days:
        return f"{when}, {age} days before the record date {ctx.as_of}: too old to stand for it; {rule}"
    return None


def recent_only(ctx: Ctx, field: str, cands: list[Cand], label: str | None = None) -> list[Cand]:
    """The candidates recent enough to stand for ``field`` on the record date; each other one is reported,
    naming its resource and date (and, when none is left, that the field stays unknown). ``label``: the
    field as the report names it (``comorbidities.platelets_per_ul``)."""
    kept: list[Cand] = []
    old: list[tuple[Cand, str]] = []
    for cand in cands:
        why = too_old(ctx, field, cand)
        if why is None:
            kept.append(cand)
        else:
            old.append((cand, why))
    tail = (
        "a more recent value is used" if kept else "no value recent enough is recorded, so it is left unknown"
    )
    for cand, why in old:
        shown = f"{cand.value:g}" if isinstance(cand.value, float | int) else repr(cand.value)
        shown += f" ({cand.note})" if cand.note else ""
        ctx.unmapped(cand.res, f"{label or field}: {shown} not used: {why}; {tail}", cand.cc)
    return kept
