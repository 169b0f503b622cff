"""``pregnant`` and ``breastfeeding`` from status Observations and pregnancy Conditions, each only while
recent enough to stand for the record date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.condition_state import condition_on
from netcds.fhir.context import Ctx
from netcds.fhir.dating import effective_text, first_day
from netcds.fhir.precedence import Cand, newest_value
from netcds.fhir.read import Res, codings
from netcds.fhir.scope import in_error, refuted, unconfirmed

# ---- pregnancy and breastfeeding ---------------------------------------------------------------------
# How long a pregnancy or breastfeeding status stands for the record date (``as_of``), by its value: netcds's
# own data-freshness conventions, not taken from a guideline. A status says how the patient was on the day it
# was observed. A negative one ("not pregnant", "not breastfeeding") stands at most 30 days before as_of: a
# pregnancy can start, or breastfeeding begin, any day after it. A positive one stands at most 300 days: a
# pregnancy lasts about 40 weeks (280 days from the last menstrual period), so one recorded longer ago has
# ended (breastfeeding keeps the same window; a positive status kept longer errs towards the safety warning).
# A status older than its window, undated, or read without a record date leaves the fact unknown, reported.
STATUS_FRESH_DAYS: dict[bool, int] = {False: 30, True: 300}
PREGNANCY_CONDITION = {(C.SNOMED, "77386006")}  # SNOMED CT Pregnancy (codes.py: also the "pregnant" answer)
BREASTFEEDING_CODE = "63895-7"  # LOINC Breastfeeding status (https://loinc.org/63895-7/)
# Its answers: LOINC LA29252-6 Currently breastfeeding / LA29253-4 Not currently breastfeeding (the LOINC
# 63895-7 answer list, as bound e.g. in gematik ISiK StillstatusVS; its LA4489-6 Unknown sets nothing);
# SNOMED CT 169750002 Mother currently breast-feeding, 169746009 Breastfeeding stopped (both findings,
# https://browser.ihtsdotools.org/).
BREASTFEEDING_ANSWERS: dict[tuple[str, str], bool] = {
    (C.LOINC, "LA29252-6"): True, (C.LOINC, "LA29253-4"): False,
    (C.SNOMED, "169750002"): True, (C.SNOMED, "169746009"): False,
}  # fmt: skip


def _pregnancy_answer(system: str, code: str) -> bool | None:
    row = C.lookup(C.ANSWERS, system, code)
    return row.target.endswith("true") if row and "pregnant = " in row.target else None


def _coded_status(ctx: Ctx, res: Res, field: str, answer: Callable[[str, str], bool | None]) -> bool | None:
    """The status an Observation's coded value states; None (reported) when no coding states one or its
    codings disagree (never decided by their order)."""
    cc = res.data.get("valueCodeableConcept")
    said = [(v, f"{s} {c}") for s, c, _ in codings(cc) if (v := answer(s, c)) is not None]
    values = {v for v, _ in said}
    if len(values) > 1:
        listing = "; ".join(f"{label} = {v}" for v, label in said)
        ctx.unmapped(res, f"{field}: its codings disagree ({listing}); left unknown", cc)
        return None
    if not values:
        ctx.unmapped(res, f"{field} status unknown or not coded", cc)
        return None
    return values.pop()


def is_pregnancy(cc: Any) -> bool:
    return any((s, c) in PREGNANCY_CONDITION for s, c, _ in codings(cc))


def _pregnancy_condition(ctx: Ctx, res: Res) -> Cand | None:
    """An active, confirmed pregnancy Condition on the record date as ``pregnant = true``; None (reported)
    otherwise. A refuted one is not read as "not pregnant": it says the diagnosis was ruled out when it was
    recorded, not how the patient is on the record date."""
    cc = res.data.get("code")
    if in_error(res):
        ctx.unmapped(res, "pregnancy condition entered in error: pregnant not set from it", cc)
        return None
    if refuted(res):
        ctx.unmapped(
            res, "pregnancy condition refuted: not read as 'not pregnant' (pregnant not set from it)", cc
        )
        return None
    if (status := unconfirmed(res)) is not None:
        ctx.unmapped(res, f"pregnancy condition is {status}, not confirmed: pregnant not set from it", cc)
        return None
    state, why = condition_on(ctx, res)
    if state != "present":
        ctx.unmapped(res, f"pregnancy condition {why}" if state == "not_active" else why, cc)
        return None
    return Cand(res, True, cc, note="active pregnancy condition")


def _status_day(res: Res) -> tuple[date | None, str]:
    """The first day a status's date can mean, and the date as named in the report: a Condition's onset
    (``onsetDateTime``, ``onsetPeriod.start``), an Observation's effective date."""
    if res.rtype == "Condition":
        period = res.data.get("onsetPeriod")
        text = res.data.get("onsetDateTime") or (period.get("start") if isinstance(period, dict) else None)
        return (first_day(str(text)), f"onset {text}") if text else (None, "no onset date")
    text = effective_text(res)
    return (first_day(text), f"dated {text}") if text else (None, "undated")


def _too_old(ctx: Ctx, cand: Cand) -> str | None:
    """Why a status cannot stand for the record date (:data:`STATUS_FRESH_DAYS`), or None when it can."""
    days = STATUS_FRESH_DAYS[bool(cand.value)]
    kind = "positive" if cand.value else "negative"
    rule = f"a {kind} status stands at most {days} days before the record date (netcds's convention)"
    if ctx.as_of is None:
        return f"no record date (as_of) is given, so whether it is the current status cannot be told; {rule}"
    day, when = _status_day(cand.res)
    if day is None:
        return f"{when}: whether it is the current status on {ctx.as_of} cannot be told; {rule}"
    if (ctx.as_of - day).days > days:
        return f"{when}, too old to stand for the current status on {ctx.as_of}; {rule}"
    return None


def _pick_current(ctx: Ctx, field: str, cands: list[Cand]) -> Any:
    """The newest status (:func:`netcds.fhir.precedence.newest_value`) when it is recent enough to stand for
    the record date (:func:`_too_old`); else None (unknown, reported). An older status never stands in for a
    newer one that is too old: it is older still, and the newer one may have replaced it."""
    chosen = newest_value(ctx, field, cands, lambda c: c.res, lambda c: c.value, lambda c: c.cc)
    if chosen is None:
        return None
    why = _too_old(ctx, chosen)
    if why is not None:
        ctx.unmapped(chosen.res, f"{field}: {chosen.value!r} not used: {why}; left unknown", chosen.cc)
        return None
    ctx.mapped(field, chosen.value, chosen.res, chosen.cc, chosen.note)
    return chosen.value


def map_reproductive(ctx: Ctx, kinds: dict[str, list[Res]], out: dict[str, Any]) -> None:
    """``pregnant`` from pregnancy status Observations (LOINC 82810-3) and active pregnancy Conditions,
    ``breastfeeding`` from breastfeeding status Observations (LOINC 63895-7, otherwise unclassified: taken
    from ``kinds["other"]``); the newest stands when it is recent enough (:data:`STATUS_FRESH_DAYS`)."""
    preg: list[Cand] = []
    for res in kinds.pop("pregnancy", []):
        value = _coded_status(ctx, res, "pregnancy", _pregnancy_answer)
        if value is not None:
            preg.append(Cand(res, value, res.data.get("valueCodeableConcept")))
    for res in ctx.of_type("Condition"):
        if is_pregnancy(res.data.get("code")) and (cand := _pregnancy_condition(ctx, res)) is not None:
            preg.append(cand)
    if (pregnant := _pick_current(ctx, "pregnant", preg)) is not None:
        out["pregnant"] = pregnant
    feeding: list[Cand] = []
    rest: list[Res] = []
    for res in kinds.get("other", []):
        if not any(s == C.LOINC and c == BREASTFEEDING_CODE for s, c, _ in codings(res.data.get("code"))):
            rest.append(res)
            continue
        value = _coded_status(ctx, res, "breastfeeding", lambda s, c: BREASTFEEDING_ANSWERS.get((s, c)))
        if value is not None:
            feeding.append(Cand(res, value, res.data.get("valueCodeableConcept")))
    if "other" in kinds:
        kinds["other"] = rest
    if (breastfeeding := _pick_current(ctx, "breastfeeding", feeding)) is not None:
        out["breastfeeding"] = breastfeeding
