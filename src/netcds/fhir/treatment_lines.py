"""Treatment lines: episodes of the same agent no more than :data:`MERGE_GAP_DAYS` apart become one line,
written as ``treatments[]``; a line made only of administrations stays open while its next dose is not overdue
(netcds.fhir.administrations)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError

from netcds.fhir.administrations import CourseReading, read_course
from netcds.fhir.context import Ctx
from netcds.fhir.read import Res, written_bounds
from netcds.fhir.report import FhirMappingError
from netcds.fhir.treatments import Episode
from netcds.patient import Treatment

MERGE_GAP_DAYS = 90


def _merge(eps: list[Episode]) -> list[list[Episode]]:
    """Lines of one agent: dated records no more than MERGE_GAP_DAYS apart; records without a
    start date form a line of their own (they cannot be placed in time, so never join a dated course)."""
    undated = [e for e in eps if e.start is None]
    eps = sorted((e for e in eps if e.start is not None), key=lambda e: (e.start or date.max, e.res.loc))
    lines: list[list[Episode]] = []
    for e in eps:
        if lines:
            last = lines[-1]
            ends = [d for d in (x.end or x.start for x in last) if d is not None]
            last_end = max(ends) if ends else None
            if e.start is None or last_end is None or e.start <= last_end + timedelta(days=MERGE_GAP_DAYS):
                last.append(e)
                continue
        lines.append([e])
    if undated:
        for e in undated:
            e.notes.append("no start date: kept as a line of its own, not merged with dated courses")
        lines.append(undated)
    return lines


def _administered_course(ctx: Ctx, line: list[Episode], row: int) -> tuple[CourseReading, Res] | None:
    """How a line made only of dated MedicationAdministrations reads at the record date
    (netcds.fhir.administrations), and its last administration (where the report says so); None for any
    other line, and for one whose last administration was stopped or gives a reason (a stop reason netcds
    reads, or any ``statusReason``): it ended at that dose, as recorded."""
    if any(e.kind != "MedicationAdministration" or e.start is None for e in line):
        return None
    doses = [(e.start, e.end or e.start) for e in line if e.start is not None]
    last_day = max(end for _, end in doses)
    last = [e for e in line if (e.end or e.start) == last_day]
    if any(e.res.data.get("status") != "completed" or e.res.data.get("statusReason") for e in last) or any(
        e.stop_reason for e in last
    ):
        return None
    withheld = ctx.withheld.get(line[0].agent, [])
    return read_course(line[0].agent, row, doses, withheld, ctx.as_of, MERGE_GAP_DAYS), last[-1].res


def _no_end_words(ctx: Ctx, line: list[Episode], row: int) -> str:
    """Why the ended line ``treatments[row]`` is written with no end: none is recorded, or the one recorded is
    partial and spans the record date (whether it had ended then is unknown)."""
    label = f"treatments[{row}] ({line[0].agent})"
    spans = [str(written_bounds(e.res)[1]) for e in line if e.end is None and written_bounds(e.res)[1]]
    if spans:
        return (
            f"{label}: its end {spans[0]} spans the record date {ctx.as_of}, so whether it had ended then is "
            "unknown; written with no end, which the contract reads as ongoing"
        )
    return f"{label} has ended but no end date is recorded; netcds reads a missing end as ongoing"


def _line_stop(line: list[Episode], going: bool, row: int) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The stop fields of the line ``treatments[row]`` from every record of it that states why it stopped,
    and the report's sentences (resource, words). Records of one course (overlapping, or no more than
    MERGE_GAP_DAYS apart) that agree give that ``stop_reason``; records that disagree leave it unknown (none
    is picked, by date or input order), and a line still going has none. In both cases a record saying it
    stopped for progression still says the disease progressed on it: ``progressed`` is true."""
    said = [(e, e.stop_reason) for e in line if e.stop_reason]
    if not said:
        return {}, []
    reasons = sorted({r for _, r in said})
    if not going and len(reasons) == 1:
        return {"stop_reason": reasons[0]}, []
    label = f"treatments[{row}] ({line[0].agent})"
    listing = "; ".join(f"{e.res.ref}: {r}" for e, r in said)
    fields: dict[str, Any] = {"progressed": True} if "progression" in reasons else {}
    progressed = (
        "; a record says it stopped for progression, so progression on it is kept (progressed = true)"
        if fields
        else ""
    )
    if going:
        still = sorted({e.res.ref for e in line if e.ongoing})
        by = f" ({', '.join(still)} still going)" if still else ""
        why = (
            f"{label}: records of this course say it stopped ({listing}), but the course is read as "
            f"ongoing on the record date{by}: a course still going has no stop reason, so none is written"
            f"{progressed}; whether it is still given is worth checking"
        )
    else:
        why = (
            f"{label}: the records of this course disagree on why it stopped ({listing}): stop_reason is "
            f"left unknown rather than one of them picked{progressed}"
        )
    return fields, [(e.res.ref, why) for e, _ in said]


def build_treatments(ctx: Ctx, episodes: list[Episode], out: dict[str, Any]) -> None:
    by_agent: dict[str, list[Episode]] = {}
    for e in episodes:
        by_agent.setdefault(e.agent, []).append(e)
    lines = [line for agent in sorted(by_agent) for line in _merge(by_agent[agent])]
    lines.sort(key=lambda ln: (min((e.start for e in ln if e.start), default=date.max), ln[0].agent))
    treatments: list[dict[str, Any]] = []
    for line in lines:
        i = len(treatments)
        starts = [e.start for e in line if e.start]
        going = any(e.ongoing for e in line)
        # administrations only: running while the next dose is not overdue (no end), else ended at the last
        course = None if going else _administered_course(ctx, line, i)
        going = going or (course is not None and course[0].ongoing)
        late = [e for e in line if ctx.as_of and e.end and e.end > ctx.as_of] if course is None else []
        for e in late if not going else []:  # a completed dose running past the record date, in a mixed line
            e.notes.append(
                f"completed, but its end {e.end} is after the record date {ctx.as_of}: ongoing then"
            )
        going = going or bool(late)
        ends = [e.end for e in line if e.end]
        t: dict[str, Any] = {"agent": line[0].agent}
        if starts:
            t["start"] = min(starts).isoformat()
        if not going and ends and all(e.end or e.kind == "MedicationAdministration" for e in line):
            t["end"] = max(ends).isoformat()
        if course is not None and not course[0].ongoing:  # ended at its last administration, as reported
            t["end"] = max(e.end or e.start or date.min for e in line).isoformat()
        if course is not None and course[0].given_interval is not None:  # the gap its report sentence names
            t["interval_days"] = course[0].given_interval
        planned = [e for e in line if e.kind != "MedicationAdministration"] or line
        for key in ("dose_mg", "interval_days"):
            val = next((getattr(e, key) for e in planned if getattr(e, key) is not None), None)
            val = val if val is not None else next((getattr(e, key) for e in line if getattr(e, key)), None)
            if val is not None:
                t[key] = val
        stop, stop_notes = _line_stop(line, going, i)
        t.update(stop)
        try:
            Treatment.model_validate(t)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "treatment"
            raise FhirMappingError(
                f"treatments[{i}].{where}",
                f"{err['msg']} (from {', '.join(e.res.ref for e in line)})",
                ctx.report,
            ) from None
        treatments.append(t)
        for e in line:
            ctx.mapped(f"treatments[{i}]", t, e.res, note=e.how)
            for n in e.notes:
                ctx.report.skip(e.res.ref, n)
        for ref, sentence in stop_notes:
            ctx.report.skip(ref, sentence)
        if course is not None:
            ctx.report.skip(course[1].ref, course[0].why)
        if not going and "end" not in t:
            ctx.report.treatments_ended_without_end_date.append(i)  # rows in order: the list stays sorted
            ctx.report.skip(line[-1].res.ref, _no_end_words(ctx, line, i))
    if treatments:
        out["treatments"] = treatments
