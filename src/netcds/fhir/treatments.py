"""Medications and radiotherapy -> ``treatments[]`` (tabled agents) and ``medications[]`` (the rest).

MedicationRequest, MedicationAdministration and MedicationStatement (mCODE
CancerRelated* or plain) are read into episodes; episodes of the same agent no
more than :data:`MERGE_GAP_DAYS` apart become one line. An agent is recognised
by its RxNorm ingredient CUI or, failing that, by name in the coding display or
text. A line made only of administrations stays open while its next dose is not
overdue (netcds.fhir.administrations). Current medications that are not tabled
agents become ``medications[]`` (lower-case generic names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError

from netcds.errors import InputError
from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.administrations import CourseReading, read_course
from netcds.fhir.context import Ctx
from netcds.fhir.dating import partial_end, partial_end_note, written_after
from netcds.fhir.drug_names import DISPLAY_ONLY, agents_in, generic_name, medication_concept
from netcds.fhir.medication import dose_range_words, not_an_order
from netcds.fhir.read import (
    Res,
    bound,
    cc_text,
    codings,
    day_span,
    extensions,
    has_code,
    has_profile,
    no_value_reason,
    parse_date,
    quantity,
    written_bounds,
)
from netcds.fhir.report import FhirMappingError
from netcds.fhir.scope import for_the_net
from netcds.patient import Treatment

MERGE_GAP_DAYS = 90
PERIOD_DAYS = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0, "a": 365.0}
ORAL_ROUTE = "26643006"  # SNOMED CT Oral route (FHIR R4 route-codes)
# statuses: (is it a given/ongoing treatment?, is it still going?)
REQUEST_STATUS = {"active": (True, True), "on-hold": (True, True), "completed": (True, False),
                  "stopped": (True, False)}  # fmt: skip
STATEMENT_STATUS = {"active": (True, True), "on-hold": (True, True), "completed": (True, False),
                    "stopped": (True, False)}  # fmt: skip
ADMIN_STATUS = {"completed": (True, False), "in-progress": (True, True), "stopped": (True, False)}
PROCEDURE_STATUS = {"completed": (True, False), "in-progress": (True, True), "stopped": (True, False)}


@dataclass
class Episode:
    agent: str
    res: Res
    kind: str
    start: date | None
    end: date | None
    ongoing: bool
    dose_mg: float | None = None
    interval_days: float | None = None
    stop_reason: str | None = None
    how: str = ""
    notes: list[str] = field(default_factory=list)


# ---- dose / schedule / reason ---------------------------------------------------------------------
def _dose(q: Any, notes: list[str]) -> float | None:
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


def _interval(dosage: dict[str, Any], notes: list[str]) -> float | None:
    rep = (dosage.get("timing") or {}).get("repeat") or {}
    if rep.get("period") is None or rep.get("periodUnit") not in PERIOD_DAYS:
        return None
    days = float(rep["period"]) * PERIOD_DAYS[str(rep["periodUnit"])] / float(rep.get("frequency") or 1)
    if not 0 < days <= 365:
        notes.append(f"dosing interval {days:g} days outside 0-365")
        return None
    return round(days, 3)


def _stop_reason(res: Res) -> tuple[str | None, str, str]:
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


def _period(res: Res, key: str) -> tuple[date | None, date | None]:
    p = res.data.get(key) or {}
    start = parse_date(p.get("start"), f"{res.loc}.{key}.start")
    end = parse_date(p.get("end"), f"{res.loc}.{key}.end")
    if start and end and end < start:
        raise InputError(f"{res.loc}.{key}.end", f"end {end} is before start {start}")
    return start, end


# ---- episodes -------------------------------------------------------------------------------------
def _episode_dates(res: Res) -> tuple[date | None, date | None]:
    d = res.data
    if res.rtype == "MedicationRequest":
        dosage = (d.get("dosageInstruction") or [{}])[0]
        bounds = ((dosage.get("timing") or {}).get("repeat") or {}).get("boundsPeriod")
        start, end = (None, None)
        if bounds:
            tmp = Res(res.loc + ".dosageInstruction[0].timing.repeat", res.rtype, {"b": bounds}, res.ref)
            start, end = _period(tmp, "b")
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


def _status_table(res: Res) -> dict[str, tuple[bool, bool]]:
    return {"MedicationRequest": REQUEST_STATUS, "MedicationStatement": STATEMENT_STATUS,
            "MedicationAdministration": ADMIN_STATUS, "Procedure": PROCEDURE_STATUS}[res.rtype]  # fmt: skip


def _octreotide_kind(cc: Any, dose_mg: float | None, dosage: dict[str, Any]) -> tuple[str, str]:
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


def _ended_early(
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


def _scheduled(ctx: Ctx, start: date | None, res: Res) -> bool:
    """Whether a course starts after the date the record is read as of (ordered ahead, not yet given); a
    partial start (``2025-07``) does when all of it is after that date."""
    if start is None and ctx.as_of is not None:
        span = day_span(written_bounds(res)[0])
        return span is not None and span[0] > ctx.as_of
    return ctx.as_of is not None and start is not None and start > ctx.as_of


def _then(ctx: Ctx, res: Res, status: str, going: bool, end: date | None, reason: str | None,
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


CANCER_MED_PROFILES = tuple(
    f"mcode-cancer-related-medication-{kind}" for kind in ("request", "administration", "statement")
)


WITHHELD_STATUS = frozenset(("not-done", "on-hold"))  # an administration of a dose that was not given


def _withheld(ctx: Ctx, res: Res, cc: Any, status: str, named: str = "") -> None:
    """Keep the date of a dose of a tabled agent recorded as not given (``ctx.withheld``): an
    administration-only line with a later such dose is not read as running (netcds.fhir.administrations).
    A record whose date cannot be read is left out of this (it is reported as not given already)."""
    try:
        day = _episode_dates(res)[0]
    except InputError:
        return
    if day is None:
        return
    dosage = res.data.get("dosage") or {}
    for agent, _ in agents_in(cc):
        if agent == "octreotide":
            agent = _octreotide_kind(cc, _dose(dosage.get("dose"), []), dosage)[0]
        ref = f"{res.ref}, its drug named{named}" if named else res.ref
        ctx.withheld.setdefault(agent, []).append((day, ref, status))


def _medication(ctx: Ctx, res: Res, meds: list[str], episodes: list[Episode]) -> None:
    d = res.data
    status = str(d.get("status", ""))
    cc, via = medication_concept(ctx, res)
    given, going = _status_table(res).get(status, (False, False))
    if cc is None:
        ctx.unmapped(
            res, "medication not identifiable (no drug code, and no Medication or display naming one)"
        )
        return
    named = via if via.startswith(DISPLAY_ONLY) else ""  # said wherever the resource is reported

    def skip(reason: str) -> None:
        ctx.unmapped(res, f"{reason}; drug named{named}" if named else reason, cc)

    if res.rtype == "MedicationRequest" and (no_order := not_an_order(res.data)) is not None:
        skip(f"{no_order}; not used")
        return
    if not given:
        skip(f"status {status!r}: not a treatment that was given")
        if res.rtype == "MedicationAdministration" and status in WITHHELD_STATUS:
            _withheld(ctx, res, cc, status, named)
        return
    found = agents_in(cc)
    if not found:
        cancer = any(has_profile(res, p) for p in CANCER_MED_PROFILES)
        name = generic_name(cc)
        why = "cancer-related drug outside the netcds agent table" if cancer else "current drug"
        start, end = _episode_dates(res) if name and ctx.as_of is not None else (None, None)
        end, written = partial_end(res, end, ctx.as_of) if name and ctx.as_of is not None else (end, "")
        ended: list[str] = []  # an end that has passed: not current, and the report says why
        going = _ended_early(ctx, status, going, end, ended, written)
        going = _then(ctx, res, status, going, end, None, [])[0]  # ended after the record date: current then
        if going and name and _scheduled(ctx, start, res):  # not yet taken on the record date: not current
            when = start or written_bounds(res)[0]
            skip(f"starts {when}, after the record date {ctx.as_of}: not a current drug then")
            return
        if ctx.as_of is not None and (later := written_after(res, ctx.as_of)) is not None:
            skip(later)  # written after the record date: not in the record then
            return
        if going and name:
            meds.append(name)
            ctx.mapped("medications", name, res, cc, note=why + via)
        else:
            skip("; ".join([why if cancer else "not a current drug", *ended, "not used"]))
        return
    if not for_the_net(ctx, res, "treatment"):
        return
    notes: list[str] = []
    if res.rtype == "MedicationAdministration":
        dosage = d.get("dosage") or {}
        dose, interval = _dose(dosage.get("dose"), notes), None
    else:
        dosage = (d.get("dosageInstruction") or d.get("dosage") or [{}])[0]
        rate = (dosage.get("doseAndRate") or [{}])[0]
        dose = _dose(rate.get("doseQuantity"), notes)
        # a range is not read as a dose, even if low = high
        if "doseQuantity" not in rate and isinstance(rng := rate.get("doseRange"), dict):
            words = dose_range_words(rng)
            notes.append(
                f"dose given as a range, {words} (doseRange): a range is not one dose; dose_mg not read"
            )
        interval = _interval(dosage, notes)
    start, end = _episode_dates(res)
    if _scheduled(ctx, start, res):  # e.g. the next cycle, ordered ahead: not a treatment given yet
        when = start or written_bounds(res)[0]
        skip(f"starts {when}, after the record date {ctx.as_of}: scheduled, not given")
        return
    if ctx.as_of is not None and (later := written_after(res, ctx.as_of)) is not None:
        skip(later)  # e.g. a course begun earlier but first recorded after the record date
        return
    end, written = partial_end(res, end, ctx.as_of)
    going = _ended_early(ctx, status, going, end, notes, written)
    reason, why, reason_note = _stop_reason(res)
    if reason_note:
        notes.append(reason_note)
    if res.rtype != "MedicationAdministration" or status != "completed" or reason or d.get("statusReason"):
        going, reason = _then(ctx, res, status, going, end, reason, notes)  # completed doses: administrations
        why = why if reason else ""
    notes += [partial_end_note(written, end)] if written and not going else []
    for agent, how in found:
        kind_note = ""
        if agent == "octreotide":
            agent, kind_note = _octreotide_kind(cc, dose, dosage)
        how = "; ".join(x for x in (f"{how}{via}", kind_note, f"stop reason {why}" if why else "") if x)
        episodes.append(
            Episode(agent, res, res.rtype, start, end, going, dose, interval, reason, how, list(notes))
        )


def _procedure(ctx: Ctx, res: Res, episodes: list[Episode]) -> None:
    """Radiotherapy courses, and PRRT when the procedure names Lu-177 dotatate."""
    cc = res.data.get("code")
    words = cc_text(cc).lower()
    rule = next(v for k, v in C.TEXT_RULES.items() if k.startswith("Radiotherapy"))
    prrt = next(v for k, v in C.TEXT_RULES.items() if k.startswith("PRRT"))
    agent = "lu177_dotatate" if any(a == "lu177_dotatate" for a, _ in agents_in(cc)) else None
    if agent is None and any(w in words for w in prrt):
        ctx.unmapped(res, "PRRT procedure without the Lu-177 dotatate name: agent not known, not used", cc)
        return
    if agent is None and not (
        has_profile(res, "mcode-radiotherapy-course-summary") or any(w in words for w in rule)
    ):
        ctx.unmapped(res, "procedure (surgery, biopsy, imaging ...) not used by netcds", cc)
        return
    agent = agent or "radiotherapy"
    status = str(res.data.get("status", ""))
    given, going = PROCEDURE_STATUS.get(status, (False, False))
    if not given:
        ctx.unmapped(res, f"{agent} procedure status {status!r}: not given", cc)
        return
    if not for_the_net(ctx, res, "treatment"):
        return
    start, end = _episode_dates(res)
    if _scheduled(ctx, start, res):
        when = start or written_bounds(res)[0]
        ctx.unmapped(
            res, f"{agent} starts {when}, after the record date {ctx.as_of}: scheduled, not given", cc
        )
        return
    notes: list[str] = []
    end, written = partial_end(res, end, ctx.as_of)
    going = _ended_early(ctx, status, going, end, notes, written)
    reason, why, reason_note = _stop_reason(res)
    notes += [reason_note] if reason_note else []
    going, reason = _then(ctx, res, status, going, end, reason, notes)
    notes += [partial_end_note(written, end)] if written and not going else []
    why = why if reason else ""
    how = "radiotherapy procedure" if agent == "radiotherapy" else "PRRT procedure naming Lu-177 dotatate"
    how += f"; stop reason {why}" if why else ""
    episodes.append(Episode(agent, res, "Procedure", start, end, going, None, None, reason, how, notes))


def collect(ctx: Ctx, out: dict[str, Any]) -> list[Episode]:
    episodes: list[Episode] = []
    meds: list[str] = []
    for res in ctx.of_type("MedicationRequest", "MedicationStatement", "MedicationAdministration"):
        _medication(ctx, res, meds, episodes)
    for res in ctx.of_type("Procedure"):
        _procedure(ctx, res, episodes)
    if meds:
        out["medications"] = sorted(set(meds))
    return episodes


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
        reasons = [e for e in line if e.stop_reason]
        if reasons and not going:
            t["stop_reason"] = reasons[-1].stop_reason
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
        if course is not None:
            ctx.report.skip(course[1].ref, course[0].why)
        if not going and "end" not in t:
            ctx.report.treatments_ended_without_end_date.append(i)  # rows in order: the list stays sorted
            ctx.report.skip(line[-1].res.ref, _no_end_words(ctx, line, i))
    if treatments:
        out["treatments"] = treatments
