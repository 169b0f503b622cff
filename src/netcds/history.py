"""Treatment-history helpers shared by the facts and the sequencing engine.

SSA dose levels follow the guideline's footnotes e and h (NE-H): standard is
octreotide LAR 20-30 mg or lanreotide 120 mg every 4 weeks; above-label goes
up to octreotide LAR 60 mg monthly or lanreotide 120 mg every 14 days. A lower
dose, or a longer interval, is below the standard (footnote h's "progression on
standard SSA doses" is then not met: the standard dose was not given). The regimen
id ``ssa`` (octreotide LAR or lanreotide, not saying which) reads as the standard
dose only while no dose and no interval is recorded; a recorded one is judged as
both agents would be, and where the two readings differ the level is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from netcds.field_labels import agent_name
from netcds.patient import Patient, Treatment

# a 4-weekly schedule, allowing the usual few days either side; more than a week late by plan (e.g.
# every 6 or 8 weeks) is a longer schedule than the standard (a netcds convention, docs/sequencing.md)
STANDARD_MIN_INTERVAL_DAYS = 26
STANDARD_MAX_INTERVAL_DAYS = 35
STANDARD_DOSE_CEILING_MG = {"octreotide_lar": 30.0, "lanreotide": 120.0}
STANDARD_DOSE_FLOOR_MG = {"octreotide_lar": 20.0, "lanreotide": 120.0}
# the agents the regimen id ``ssa`` (octreotide LAR or lanreotide) may be: a recorded dose or interval is
# read as each of them (ssa_dose_level)
SSA_READINGS = tuple(STANDARD_DOSE_CEILING_MG)
LEVEL_WORDS = {
    "standard": "standard",
    "above_label": "above label",
    "below_standard": "below the standard",
    None: "dose level unknown",
}


def ssa_dose_level(t: Treatment) -> tuple[str | None, str]:
    """Return ('standard' | 'above_label' | 'below_standard' | None, why) for an SSA line.

    ``ssa`` without a dose or interval keeps its convention (the standard dose); with either recorded,
    it is read as octreotide LAR and as lanreotide: the level both readings agree on, else unknown
    (which SSA it was would settle it: :func:`ssa_dose_fields`)."""
    if t.agent == "ssa":
        if t.dose_mg is None and t.interval_days is None:
            return "standard", "recorded as standard-dose SSA"
        readings = {a: _long_acting_level(a, t.dose_mg, t.interval_days) for a in SSA_READINGS}
        dose = f" {t.dose_mg:g} mg" if t.dose_mg is not None else ""
        every = f" every {t.interval_days:g} days" if t.interval_days is not None else ""
        head = f"SSA (octreotide LAR or lanreotide){dose}{every}"
        levels = {lv for lv, _ in readings.values()}
        if len(levels) == 1:
            lv = levels.pop()
            whys = "; ".join(why for _, why in readings.values())
            return lv, f"{head}: {LEVEL_WORDS[lv]} for either agent ({whys})"
        each = ", ".join(f"{LEVEL_WORDS[lv]} as {agent_name(a)}" for a, (lv, _) in readings.items())
        return None, f"{head}: {each}; which SSA it was is not recorded"
    if t.agent == "ssa_above_label":
        return "above_label", "recorded as above-label SSA"
    if t.agent not in STANDARD_DOSE_CEILING_MG:
        return None, f"{agent_name(t.agent)} is not a long-acting SSA"
    return _long_acting_level(t.agent, t.dose_mg, t.interval_days)


def ssa_dose_fields(t: Treatment) -> tuple[str, ...]:
    """The fields of a line whose SSA dose level is unknown that would settle it: which SSA it was
    (``agent``) where the regimen id ``ssa``'s readings as octreotide LAR and lanreotide differ, and the
    dose and interval unless both readings are known."""
    if t.agent == "ssa" and (t.dose_mg, t.interval_days) != (None, None):
        readings = {_long_acting_level(a, t.dose_mg, t.interval_days)[0] for a in SSA_READINGS}
        if len(readings) > 1:
            return ("agent",) if None not in readings else ("agent", "dose_mg", "interval_days")
    return ("dose_mg", "interval_days")


def _long_acting_level(
    agent: str, dose_mg: float | None, interval_days: float | None
) -> tuple[str | None, str]:
    """The dose level of a long-acting SSA ``agent`` (a key of STANDARD_DOSE_CEILING_MG) at this dose and
    interval: above label, else below the standard, else standard when both are recorded, else unknown."""
    ceiling = STANDARD_DOSE_CEILING_MG[agent]
    name = agent_name(agent)
    if dose_mg is not None and dose_mg > ceiling:
        return "above_label", f"{name} {dose_mg:g} mg exceeds the standard {ceiling:g} mg"
    if interval_days is not None and interval_days < STANDARD_MIN_INTERVAL_DAYS:
        return "above_label", f"{name} every {interval_days:g} days is more often than every 4 weeks"
    floor = STANDARD_DOSE_FLOOR_MG[agent]
    if dose_mg is not None and dose_mg < floor:
        return "below_standard", f"{name} {dose_mg:g} mg is below the standard {floor:g} mg"
    if interval_days is not None and interval_days > STANDARD_MAX_INTERVAL_DAYS:
        return "below_standard", f"{name} every {interval_days:g} days is less often than every 4 weeks"
    if dose_mg is not None and interval_days is not None:
        return "standard", f"{name} {dose_mg:g} mg every {interval_days:g} days (standard)"
    return None, f"{name} dose or interval not recorded"


def progressed_value(t: Treatment) -> bool | None:
    """The record's own answer to 'did the disease progress on it' (three-valued): ``progressed``, else
    a sign of it (a stop for progression, a progression date, a best response of PD), else unknown."""
    if t.progressed is not None:
        return t.progressed
    if t.stop_reason == "progression" or t.progression_date is not None or t.best_response == "PD":
        return True
    return None


#: Every recorded stop reason but progression.
NOT_PROGRESSION = ("toxicity", "completed", "patient_choice", "other")


def ended_before_progression(
    end: date | None,
    progression_date: date | None,
    stops: Sequence[str | None],
    best_response: str | None,
    reasons: Sequence[str] = NOT_PROGRESSION,
) -> bool:
    """Whether a course ended, for recorded reasons all among ``reasons``, before a progression dated after
    its end, its best response not PD: progression after it, not on it. An unrecorded stop reason leaves the
    recorded progression as it is. One course (:func:`progressed_after_course`) or a sequencing line of
    several (sequencing/lines.py, which leaves ``completed`` out)."""
    return (
        end is not None
        and progression_date is not None
        and progression_date > end
        and bool(stops)
        and all(s in reasons for s in stops)
        and best_response != "PD"
    )


def progressed_after_course(t: Treatment) -> bool:
    """Whether the record dates the line's progression after the course ended for another recorded reason
    (a stop reason other than progression, best response not PD), which "progression on" an agent
    (facts.progressed_on) does not count."""
    return ended_before_progression(t.end, t.progression_date, [t.stop_reason], t.best_response)


def progression_assessed_on(p: Patient) -> date | None:
    """While the disease is progressive, the newest date progression was assessed: the status's own date
    (``disease.status_date``) or an assessment with RECIST PD; ``None`` otherwise."""
    if p.disease.status != "progressive":
        return None
    dates = [a.date for a in p.assessments or [] if a.recist_response == "PD"]
    if p.disease.status_date is not None:
        dates.append(p.disease.status_date)
    return max(dates, default=None)


def progression_assessed_after(p: Patient, start: date | None) -> bool:
    """Whether the disease is progressive and progression was assessed after ``start``."""
    assessed = progression_assessed_on(p)
    return start is not None and assessed is not None and assessed > start


def progressing_on_ongoing(p: Patient, t: Treatment) -> bool:
    """Whether a line whose progression is unrecorded can be read as progressing now: it is ongoing,
    the disease status is progressive, and progression was assessed after the line started. Without
    that date the progression may be the one that led to this line, so nothing is inferred (the
    line's ``progressed`` stays unknown and is named)."""
    return t.end is None and progression_assessed_after(p, t.start)
