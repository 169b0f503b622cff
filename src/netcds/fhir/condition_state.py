"""Whether a Condition was present on the record date (its clinical status and abatement), and a patient's
age on a day: shared by the comorbidity, pregnancy and tumor-condition mappings."""

from __future__ import annotations

from datetime import date

from netcds.fhir.context import Ctx
from netcds.fhir.read import Res, day_span
from netcds.fhir.scope import active, status_code

NOT_A_DATE = {"abatementAge": "an age", "abatementRange": "an age range", "abatementString": "words"}


def _abatement(res: Res) -> tuple[date | None, date | None, str]:
    """(first day it may have abated, last day by which it had abated, the date as written) from
    ``abatementDateTime`` or ``abatementPeriod``; a partial date gives its first and last day."""
    d = res.data
    if d.get("abatementDateTime"):
        text = str(d["abatementDateTime"])
        lo, hi = day_span(text) or (None, None)
        return lo, hi, text
    p = d.get("abatementPeriod")
    if isinstance(p, dict) and (p.get("start") or p.get("end")):
        lo = (day_span(p.get("start")) or (None, None))[0]
        hi = (day_span(p.get("end")) or (None, None))[1]
        return lo, hi, f"{p.get('start') or '?'} to {p.get('end') or '?'}"
    return None, None, ""


def condition_on(ctx: Ctx, res: Res) -> tuple[str, str]:
    """Whether a Condition was present on the record date: ``("present" | "not_active" | "unknown", why)``.

    ``clinicalStatus`` is the Condition's status now. Without ``as_of`` it is read as it stands (no clock
    is read). With ``as_of``, one now inactive, resolved or in remission was still present on that day when
    it abated after it (its abatement date, all of a partial one, after ``as_of``), and had abated when its
    abatement was over on or before that day; when the abatement date is missing, partial across that day,
    or an age, range or words, whether it was present then cannot be told: unknown (never the later state).
    An active status with an abatement over by ``as_of`` contradicts itself: unknown. A ``present`` reading
    that rests on a later abatement adds a caveat to every value the Condition maps (``ctx.caveats``)."""
    as_of = ctx.as_of
    if as_of is None:
        return (
            ("present", "") if active(res) else ("not_active", "not active (resolved, inactive or remission)")
        )
    status = status_code(res, "clinicalStatus")
    lo, hi, text = _abatement(res)
    other = next((k for k in NOT_A_DATE if k in res.data), None)
    if active(res) and (status is not None or not (text or other)):  # active, recurrence, relapse, unstated
        if hi is not None and hi <= as_of:
            return "unknown", (
                f"clinical status {status!r} conflicts with its abatement {text}, on or before the record "
                f"date {as_of}: whether it was present then is unknown; not used"
            )
        return "present", ""
    said = repr(status) if status else "not stated (an abatement is recorded)"
    if lo is not None and lo > as_of:
        note = (
            f"clinical status {said} now, but it abated {text}, after the record date {as_of}: present then"
        )
        old = ctx.caveats.get(res.loc)
        ctx.caveats[res.loc] = f"{old}; {note}" if old else note
        return "present", note
    if hi is not None and hi <= as_of:
        return "not_active", f"not active on the record date {as_of} ({status or 'abated'}, abated {text})"
    if text:
        why = f"its abatement date {text} does not say whether it had abated by the record date {as_of}"
    elif other is not None:
        why = f"its abatement is given as {NOT_A_DATE[other]}, not a date"
    else:
        why = f"no abatement date says whether it had abated by the record date {as_of}"
    return "unknown", (
        f"clinical status {said} is the record's status now and {why}: whether it was present on {as_of} "
        "is unknown; not used"
    )


def age_on(birth: date, as_of: date) -> int:
    return as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
