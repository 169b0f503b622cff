"""Treatment lines recorded only as MedicationAdministrations: is the course still running?

Clinic-given agents (octreotide LAR or lanreotide depot injections every ~4 weeks, Lu-177 dotatate cycles,
IV chemotherapy) are often recorded only as one completed MedicationAdministration per dose. The last dose
of such a line is then no end of the course: a patient given lanreotide two weeks before the record date is
on lanreotide. netcds reads a line made only of completed administrations as running (no ``end``: the
contract's "ongoing") while the record date is within the line's dosing interval plus a tolerance after its
last administration, and as ended at its last administration once that has passed.

Doses given less than :data:`CYCLE_JOIN_DAYS` apart form one cycle (etoposide on days 1-3, a dose given
again the next day). The dosing interval is the median gap between the starts of the line's own cycles
(two or more), else the usual interval the agent's monograph states in its dose schedule (knowledge/agents,
read with its source; the longest one when the monograph names alternatives, e.g. pembrolizumab every 3 or
6 weeks). Without an interval or a record date the line ends at its last administration, as it always did;
so does a course whose labelled number of doses has been given (Lu-177 dotatate: 4 doses in total), and one
with a later dose of the agent recorded as not given (not-done, on-hold). Every reading is reported in words
naming the dates and the interval used: it is a judgement the clinician should see.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from statistics import median

from netcds.errors import KnowledgeError
from netcds.fhir.dose_schedule import schedule_intervals

# The next dose is read as missed, and the course as ended, once the record date is more than the dosing
# interval plus half an interval after the last administration (a 4-weekly injection: 6 weeks). A netcds
# mapping convention (docs/fhir-mapping.md), not a guideline or label rule: it allows a dose given some days
# late (a holiday, a clinic slot) without reading a course stopped weeks ago as current.
TOLERANCE_FRACTION = 0.5
# Doses less than a week apart belong to one cycle (a multi-day regimen, a dose recorded twice): the interval
# is read between cycles, never between the days of one. Also a netcds mapping convention.
CYCLE_JOIN_DAYS = 7
# "... every 8 weeks (± 1 week), 4 doses in total": a monograph schedule stating a labelled number of doses
_TOTAL_DOSES = re.compile(r"\b(\d+) doses in total\b")


@dataclass(frozen=True)
class UsualSchedule:
    """An agent's dose schedule as its monograph states it, with the source cited."""

    interval_days: float | None  # days between doses, the longest schedule stated (None: none stated)
    total_doses: int | None  # the labelled number of doses of a course (None: not stated)
    words: str  # "the <agent> monograph's schedule '<schedule>' (source: <document>, <section>)"


@dataclass(frozen=True)
class CourseReading:
    """Whether an administration-only line is still running, and the mapping report's sentence saying why."""

    ongoing: bool
    why: str
    # the interval between the line's own cycles, when the reading measured it (its sentence names it): the
    # line's dosing interval as given, written as its ``interval_days``
    given_interval: float | None = None


def usual_schedule(agent: str) -> UsualSchedule | None:
    """The agent's dose schedule from its monograph (None: no monograph, an unverified dose, or the safety
    knowledge not installed or not loading)."""
    try:
        from netcds.safety import load_agents
        from netcds.safety.load import resolve

        monograph = load_agents().agents.get(agent)
    except (ImportError, KnowledgeError):
        return None
    if monograph is None or not monograph.dose.verified:
        return None
    schedule = monograph.dose.schedule
    source = resolve(monograph.sources, monograph.dose.source)
    total = _TOTAL_DOSES.search(schedule.lower())
    intervals = schedule_intervals(schedule)
    return UsualSchedule(
        interval_days=max(intervals) if intervals else None,
        total_doses=int(total.group(1)) if total else None,
        words=f"the {agent} monograph's schedule {schedule!r} (source: {source.document}, {source.section})",
    )


def _days(value: float) -> str:
    return f"{value:.3g} day" + ("" if value == 1 else "s")


def cycle_starts(days: Sequence[date]) -> list[date]:
    """The first day of each cycle of ``days`` (sorted, distinct): a day less than CYCLE_JOIN_DAYS after the
    one before belongs to its cycle."""
    starts: list[date] = []
    for before, day in zip([None, *days], days, strict=False):
        if before is None or (day - before).days >= CYCLE_JOIN_DAYS:
            starts.append(day)
    return starts


def _own_interval(days: Sequence[date]) -> tuple[float, str] | None:
    """The median gap between the starts of the line's cycles (days sorted, distinct), and its words."""
    starts = cycle_starts(days)
    if len(starts) < 2:
        return None
    gaps = [(b - a).days for a, b in pairwise(starts)]
    what = "administrations" if len(starts) == len(days) else f"cycles ({len(days)} administrations)"
    if len(starts) == 2:
        return float(gaps[0]), f"the gap between its 2 {what}, {starts[0]} and {starts[1]}"
    return (
        float(median(gaps)),
        f"the median gap between its {len(starts)} {what}, {starts[0]} to {starts[-1]}",
    )


def read_course(
    agent: str,
    row: int,
    doses: Sequence[tuple[date, date]],
    withheld: Sequence[tuple[date, str, str]],
    as_of: date | None,
    longest_gap_days: int,
) -> CourseReading:
    """How the line ``treatments[row]`` of ``agent``, made only of completed administrations given on
    ``doses`` (each ``(start, end)``, the end the start for a one-day dose), reads at the record date
    ``as_of``. ``withheld``: the agent's administrations recorded as not given (date, reference, status);
    ``longest_gap_days`` the gap after which a further dose would start a new line (the tolerance never
    reaches past it)."""
    label = f"treatments[{row}] ({agent})"
    days = sorted({start for start, _ in doses})
    last = max(end for _, end in doses)
    ended = f"{label} read as ended on {last}, its last administration"
    later = sorted(w for w in withheld if w[0] > last and (as_of is None or w[0] <= as_of))
    if later:
        day, ref, status = later[0]
        return CourseReading(
            False,
            f"{ended}: a later dose, on {day}, is recorded as not given ({ref}, status {status!r}); check "
            "whether the course continues",
        )
    usual = usual_schedule(agent)
    if usual is not None and usual.total_doses is not None and len(days) >= usual.total_doses:
        return CourseReading(
            False,
            f"{ended}: its {len(days)} administrations complete the {usual.total_doses} doses in total of "
            f"{usual.words}",
        )
    if as_of is None:
        return CourseReading(
            False, f"{ended}: without a record date (as_of) netcds cannot tell whether a further dose is due"
        )
    if last > as_of:
        return CourseReading(
            True,
            f"{label} read as ongoing, no end date: its last administration, recorded as completed, runs to "
            f"{last}, after the record date {as_of} (check the record)",
        )
    found = own = _own_interval(days)
    if found is None and usual is not None and usual.interval_days is not None:
        found = usual.interval_days, f"the usual one of {usual.words}"
    if found is None:
        return CourseReading(
            False,
            f"{ended}: {'a single administration' if len(days) == 1 else 'a single cycle'}, and no dosing "
            f"interval is stated in the {agent} monograph, so netcds cannot tell whether a further dose is "
            "due (check whether the course continues)",
        )
    interval, basis = found
    given = own[0] if own is not None else None
    tolerance = interval * TOLERANCE_FRACTION
    window = min(interval + tolerance, float(longest_gap_days))
    capped = (
        f", at most {_days(longest_gap_days)} (after which a further dose starts a new line)"
        if window < interval + tolerance
        else ""
    )
    rule = f"the dosing interval of {_days(interval)} plus a tolerance of {_days(tolerance)}{capped}"
    since = (as_of - last).days
    if since <= window:
        return CourseReading(
            True,
            f"{label} read as ongoing, no end date: recorded only as administrations, the last on {last}, "
            f"{_days(since)} before the record date {as_of}, within {rule}; the interval is {basis}",
            given,
        )
    return CourseReading(
        False,
        f"{ended}: no dose was given within {rule} before the record date {as_of} ({_days(since)} later); "
        f"the interval is {basis}",
        given,
    )
