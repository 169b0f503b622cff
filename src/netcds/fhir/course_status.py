"""A course's status and dates: whether a medication or procedure record is a treatment given, whether
it was still going on the record date (``as_of``) by its status and its dates, when it ran, and why it
stopped."""

from __future__ import annotations

from datetime import date

from netcds.errors import InputError
from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.context import Ctx
from netcds.fhir.read import Res, codings, day_span, extensions, parse_date, written_bounds

# statuses: (is it a given/ongoing treatment?, is it still going?)
REQUEST_STATUS = {"active": (True, True), "on-hold": (True, True), "completed": (True, False),
                  "stopped": (True, False)}  # fmt: skip
STATEMENT_STATUS = {"active": (True, True), "on-hold": (True, True), "completed": (True, False),
                    "stopped": (True, False)}  # fmt: skip
ADMIN_STATUS = {"completed": (True, False), "in-progress": (True, True), "stopped": (True, False)}
PROCEDURE_STATUS = {"completed": (True, False), "in-progress": (True, True), "stopped": (True, False)}


def status_table(res: Res) -> dict[str, tuple[bool, bool]]:
    """The status table of a resource type: status -> (given, still going)."""
    return {"MedicationRequest": REQUEST_STATUS, "MedicationStatement": STATEMENT_STATUS,
            "MedicationAdministration": ADMIN_STATUS, "Procedure": PROCEDURE_STATUS}[res.rtype]  # fmt: skip


def _period(res: Res, key: str) -> tuple[date | None, date | None]:
    p = res.data.get(key) or {}
    start = parse_date(p.get("start"), f"{res.loc}.{key}.start")
    end = parse_date(p.get("end"), f"{res.loc}.{key}.end")
    if start and end and end < start:
        raise InputError(f"{res.loc}.{key}.end", f"end {end} is before start {start}")
    return start, end


def episode_dates(res: Res) -> tuple[date | None, date | None]:
    """The start and end of a medication or procedure record (either may be unknown)."""
    d = res.data
    if res.rtype == "MedicationRequest":
        dosage = (d.get("dosageInstruction") or [{}])[0]
        bounds = ((dosage.get("timing") or {}).get("repeat") or {}).get("boundsPeriod")
        start, end = (None, None)
        if bounds:
            where = res.loc + ".dosageInstruction[0].timing.repeat"
            start, end = _period(Res(where, res.rtype, {"boundsPeriod": bounds}, res.ref), "boundsPeriod")
        if start is None:
            start = parse_date(d.get("authoredOn"), f"{res.loc}.authoredOn")
        if end is None and d.get("dispenseRequest", {}).get("validityPeriod"):
            tmp = Res(res.loc + ".dispenseRequest", res.rtype, d["dispenseRequest"], res.ref)
            end = _period(tmp, "validityPeriod")[1]
        return start, end
    if "effectivePeriod" in d:
        return _period(res, "effectivePeriod")
    if "performedPeriod" in d:
        return _period(res, "performedPeriod")
    for key in ("effectiveDateTime", "performedDateTime"):
        if key in d:
            day = parse_date(d[key], f"{res.loc}.{key}")
            return day, day if res.rtype == "MedicationAdministration" else None
    return None, None


def read_stop_reason(res: Res) -> tuple[str | None, str, str]:
    """``(stop_reason, how, note)`` from statusReason or the mCODE treatment-termination-reason
    extension; ``note`` reports a reason that is recorded but not mapped (stop_reason stays unknown)."""
    ccs = [
        res.data.get("statusReason"),
        *[e.get("valueCodeableConcept") for e in extensions(res.data, "mcode-treatment-termination-reason")],
    ]
    unknown: list[str] = []
    for cc in ccs:
        for one in cc if isinstance(cc, list) else [cc]:
            for system, code, display in codings(one):
                row = C.lookup(C.TERMINATION, system, code) or C.lookup(C.MR_STATUS_REASON, system, code)
                if row:
                    return row.target.split("= ")[1], f"{system} {code} {display or row.meaning}", ""
                unknown.append(f"{system.rsplit('/', 1)[-1]} {code} {display}".strip())
            if isinstance(one, dict) and not codings(one) and one.get("text"):
                unknown.append(repr(one["text"]))
    if unknown:
        return (
            None,
            "",
            f"status reason {', '.join(unknown)} is not a code netcds maps: stop_reason left unknown",
        )
    return None, "", ""


def ended_early(
    ctx: Ctx, status: str, going: bool, end: date | None, notes: list[str], written: str = ""
) -> bool:
    """Whether a course still 'going' by status has an explicit end before the record date (``written``:
    a partial end as written, ``end`` then the last day it can mean)."""
    if not going or end is None:
        return going
    shown = written or end
    if ctx.as_of is not None and end < ctx.as_of:
        notes.append(
            f"status {status!r} conflicts with its end date {shown}, before {ctx.as_of}: read as ended {end}"
        )
        return False
    if ctx.as_of is None:
        notes.append(
            f"status {status!r} with an end date {shown}; without as_of netcds cannot tell if it has passed"
        )
    return going


def scheduled(ctx: Ctx, start: date | None, res: Res) -> bool:
    """Whether a course starts after the date the record is read as of (ordered ahead, not yet given); a
    partial start (``2025-07``) does when all of it is after that date."""
    if start is None and ctx.as_of is not None:
        span = day_span(written_bounds(res)[0])
        return span is not None and span[0] > ctx.as_of
    return ctx.as_of is not None and start is not None and start > ctx.as_of


def going_then(ctx: Ctx, res: Res, status: str, going: bool, end: date | None, reason: str | None,
          notes: list[str]) -> tuple[bool, str | None]:  # fmt: skip
    """(going, stop_reason) on the record date. A record that has ended now but whose end date is after
    ``as_of`` (all of a partial one) was running then: ongoing, and its end and stop reason are later facts.
    When a partial end date spans ``as_of``, whether it had ended is unknown: so is its stop reason."""
    text = written_bounds(res)[1]
    span = (end, end) if end else day_span(text)
    if ctx.as_of is None or going or span is None or span[1] <= ctx.as_of:
        return going, reason
    if span[0] > ctx.as_of:
        notes.append(f"status {status!r} now, but its end {text} is after the record date {ctx.as_of}: "
                     "read as ongoing on that day (its end and any stop reason are later facts)")  # fmt: skip
        return True, None
    notes.append(f"its end {text} spans the record date {ctx.as_of}: whether it had ended then, and any stop "
                 "reason, is unknown")  # fmt: skip
    return going, None
