"""A draft order's schedule against the labelled one: the days between doses a monograph's words state, the
draft's own (``timing.repeat``), and its total dose per the labelled interval (order-sign's dose cards)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netcds.fhir.card_base import DoseAdvice
from netcds.fhir.draft_dose import dose_value, draft_dose_mg, draft_schedule, interval_words

_PER_DAY = {"once daily": 1.0, "twice daily": 1 / 2, "three times daily": 1 / 3, "four times daily": 1 / 4}
_EVERY = re.compile(r"every (\d+(?:\.\d+)?) (day|week)s?")


Labelled = tuple[float, float | None]  # a labelled dose in mg and the days between doses (None: not read)


def days_of(amount: str, unit: str) -> float:
    return float(amount) * (7.0 if unit == "week" else 1.0)


def schedule_intervals(text: str) -> list[float]:
    """Days between doses of every schedule a monograph's words state, in the order stated ("every 3 weeks
    (or 400 mg every 6 weeks)": [21.0, 42.0])."""
    low = text.lower()
    found = [(low.index(k), days) for k, days in _PER_DAY.items() if k in low]
    found += [(m.start(), days_of(m.group(1), m.group(2))) for m in _EVERY.finditer(low)]
    return [days for _, days in sorted(found)]


def schedule_interval(text: str) -> float | None:
    """Days between doses of the first schedule a monograph's words state ("orally once daily",
    "intravenously every 3 weeks (or ...)"); None when none is stated."""
    found = schedule_intervals(text)
    return found[0] if found else None


def draft_interval(resource: Mapping[str, Any]) -> float | None:
    """Days between doses of the draft order's mg dose (its instruction's ``timing.repeat``), if read."""
    found = draft_schedule(resource)
    return found.days if found else None


@dataclass(frozen=True)
class ScheduleCheck:
    """The draft's mg dose over the labelled interval: ``total_mg`` per ``label_days`` when the draft's
    timing is read and differs from the label's (None when it is the label's, or not read); ``not_compared``
    says why the schedule was not compared (the draft's timing or the label's schedule not read)."""

    draft_days: float | None
    label_days: float | None
    total_mg: float | None
    not_compared: str | None


def schedule_check(d: DoseAdvice, draft: Mapping[str, Any] | None) -> ScheduleCheck | None:
    """The draft's mg dose against the label's schedule (the labelled dose is per its interval: "once daily"
    is per day, "every 4 weeks" per 4 weeks): None when the draft states no mg dose."""
    if draft is None or draft.get("resourceType") != "MedicationRequest":
        return None
    ordered, sched = draft_dose_mg(draft), draft_schedule(draft)
    if ordered is None or sched is None:
        return None
    label_days = schedule_interval(d.schedule or "")
    if sched.days is None:
        return ScheduleCheck(None, label_days, None, sched.why)
    if label_days is None:
        return ScheduleCheck(sched.days, None, None, "the labelled schedule states no interval netcds reads")
    if abs(sched.days - label_days) <= 1e-6 * label_days:
        return ScheduleCheck(sched.days, label_days, None, None)
    total = float(f"{ordered * label_days / sched.days:.12g}")
    return ScheduleCheck(sched.days, label_days, total, None)


def ordered_words(ordered: float, check: ScheduleCheck | None) -> str:
    """The draft's dose as a card line says it: "10 mg", or with another timing than the label's, "10 mg
    every 12 hours (20 mg per day)"."""
    if check is None or check.total_mg is None or check.draft_days is None or check.label_days is None:
        return f"{dose_value(ordered)} mg"
    return (
        f"{dose_value(ordered)} mg every {interval_words(check.draft_days)} "
        f"({dose_value(check.total_mg)} mg per {interval_words(check.label_days)})"
    )


def schedule_not_compared_line(check: ScheduleCheck | None) -> str | None:
    """The card line saying the draft's schedule was not compared with the label's, and why (None when it
    was compared)."""
    if check is None or check.not_compared is None:
        return None
    return (
        f"**Schedule not compared:** {check.not_compared}, so the total dose per day (or per the labelled "
        "interval) has not been checked against the labelled dose; this is not an all-clear."
    )
