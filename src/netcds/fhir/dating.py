"""Effective dates of FHIR resources: which records are newest, and which lie after the record date.

A dateTime is one instant (UTC), a date-only value its whole day, a year-month its month and a year its
year; records whose intervals overlap cannot be ordered, so none of them is newer (never input order).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from netcds.fhir.read import EFFECTIVE_KEYS, EFFECTIVE_PERIODS, Res, day_span, instant, written_bounds

T = TypeVar("T")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def effective_text(res: Res) -> str | None:
    """The effective date as written (``effective[x]``, ``issued``, ``onset[x]`` ...; a period's end, else
    its start), as :func:`netcds.fhir.read.instant` reads it."""
    d = res.data
    for key in EFFECTIVE_KEYS:
        if key in d:
            return str(d[key])
    for key in EFFECTIVE_PERIODS:
        if key in d and isinstance(d[key], dict) and (d[key].get("end") or d[key].get("start")):
            return str(d[key].get("end") or d[key].get("start"))
    return None


def earliest_day(res: Res) -> date | None:
    """The first calendar day the effective date can mean (``2024`` -> 2024-01-01), as written."""
    return first_day(effective_text(res))


def first_day(text: str | None) -> date | None:
    """The first calendar day a FHIR date, dateTime or instant can mean (``2024-07`` -> 2024-07-01)."""
    m = _DATE.match(text or "")
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        return None


def condition_after(res: Res, as_of: date) -> str | None:
    """For a Condition: which of its dates lies after ``as_of`` (``"onset 2025-03-02"``, ``"recorded
    2025-03-02"``), or None. Either one puts it after the record date: a condition that began later did not
    exist on that day, one recorded later was not in the record on that day. A partial date is after only if
    its first day is; an onset given as an age, range or words is not a date and is not compared."""
    d = res.data
    period = d.get("onsetPeriod")
    dates = (
        ("onset", d.get("onsetDateTime")),
        ("onset", period.get("start") if isinstance(period, dict) else None),
        ("recorded", d.get("recordedDate")),
    )
    for what, text in dates:
        day = first_day(str(text)) if text else None
        if day is not None and day > as_of:
            return f"{what} {text}"
    return None


# The element in which FHIR R4 states when a medication record was written, and what the record is; the
# other records netcds reads: Condition.recordedDate (condition_after), Observation.issued
# (netcds.fhir.precedence.not_known_then); MedicationAdministration and Procedure have none in R4.
WRITTEN = {"MedicationStatement": ("dateAsserted", "statement"), "MedicationRequest": ("authoredOn", "order")}


def written_after(res: Res, as_of: date) -> str | None:
    """Why a MedicationStatement or MedicationRequest was not known on ``as_of``, or None: the day it was
    written (``dateAsserted``: asserted by its source; ``authoredOn``: the order first written) is after it,
    whatever its effective dates. A partial date is after only if its first day is."""
    element, what = WRITTEN.get(res.rtype, ("", ""))
    text = res.data.get(element) if element else None
    day = first_day(str(text)) if text else None
    if day is None or day <= as_of:
        return None
    return f"{element} {text}, after the record date {as_of}: the {what} was not known then; not used"


def span(res: Res) -> tuple[datetime, datetime] | None:
    """The effective time as a half-open UTC interval: a dateTime is one instant, a date-only value
    its whole day, a year-month its month and a year its year; ``None`` when undated."""
    text = effective_text(res)
    m = _DATE.match(text or "")
    if text is None or not m:
        return None
    point = instant(res)
    if point is not None and "T" in text:
        return point, point + timedelta(microseconds=1)
    y, mo, d = int(m.group(1)), m.group(2), m.group(3)
    if d is not None and point is not None:
        return point, point + timedelta(days=1)
    if mo is not None and 1 <= int(mo) <= 12:
        start = datetime(y, int(mo), 1, tzinfo=UTC)
        nxt = datetime(y + int(mo) // 12, int(mo) % 12 + 1, 1, tzinfo=UTC)
        return start, nxt
    return datetime(y, 1, 1, tzinfo=UTC), datetime(y + 1, 1, 1, tzinfo=UTC)


def newest_first(items: list[T], res_of: Callable[[T], Res]) -> tuple[list[T], list[T]]:
    """(newest, older): the newest are the items no other item is surely dated after.

    An item is older than another when its effective interval (:func:`span`) ends before the other's
    begins; undated items are older than any dated one. So records of the same date, undated records,
    or partial dates that overlap ("2024" and "2024-05") are all newest together. Both lists are in
    an order that does not depend on the input order (by reference, then content)."""

    if len(items) == 1:
        return list(items), []
    refs = [res_of(i).ref for i in items]
    if len(set(refs)) == len(refs):
        ordered = [i for _, i in sorted(zip(refs, items, strict=True), key=lambda p: p[0])]
    else:  # records sharing a reference are ordered by their content (never by input order)

        def key(item: T) -> tuple[str, str]:
            res = res_of(item)
            return res.ref, json.dumps(res.data, sort_keys=True, default=str)

        ordered = sorted(items, key=key)
    spans = [span(res_of(i)) for i in ordered]
    dated = [s for s in spans if s is not None]
    newest: list[T] = []
    older: list[T] = []
    for item, s in zip(ordered, spans, strict=True):
        if s is None:
            (older if dated else newest).append(item)
        elif any(s[1] <= other[0] for other in dated):
            older.append(item)
        else:
            newest.append(item)
    return newest, older


def partial_end(res: Res, end: date | None, as_of: date | None) -> tuple[date | None, str]:
    """``(end, as written)`` of a course whose end date is a year or a month only (``2025-03``): the last day
    it can mean, when that is no later than ``as_of`` (or there is no ``as_of``): the course had ended by
    then, on a day the record does not give. A full end date is returned as it is (``""``: not partial);
    one that reaches past ``as_of`` stays None (whether it had ended then is for the caller to say)."""
    if end is not None:
        return end, ""
    text = written_bounds(res)[1]
    span = day_span(text) if text else None
    if span is None or span[0] == span[1] or (as_of is not None and span[1] > as_of):
        return None, ""
    return span[1], str(text)


def partial_end_note(written: str, end: date | None) -> str:
    """The report's words for an end :func:`partial_end` read from a year or a month."""
    return (
        f"its end {written} gives no day: read as {end}, the last day it can mean (the course had ended by "
        "then; the day it ended is not recorded)"
    )
