"""Treatment-history helpers shared by the facts and the sequencing engine.

SSA dose levels follow the guideline's footnotes e and h (NE-H): standard is
octreotide LAR 20-30 mg or lanreotide 120 mg every 4 weeks; above-label goes
up to octreotide LAR 60 mg monthly or lanreotide 120 mg every 14 days. A lower
dose, or a longer interval, is below the standard (footnote h's "progression on
standard SSA doses" is then not met: the standard dose was not given).
"""

from __future__ import annotations

from datetime import date

from netcds.field_labels import agent_name
from netcds.patient import Patient, Treatment

# a 4-weekly schedule, allowing the usual few days either side; more than a week late by plan (e.g.
# every 6 or 8 weeks) is a longer schedule than the standard (a netcds convention, docs/sequencing.md)
STANDARD_MIN_INTERVAL_DAYS = 26
STANDARD_MAX_INTERVAL_DAYS = 35
STANDARD_DOSE_CEILING_MG = {"octreotide_lar": 30.0, "lanreotide": 120.0}
STANDARD_DOSE_FLOOR_MG = {"octreotide_lar": 20.0, "lanreotide": 120.0}


def ssa_dose_level(t: Treatment) -> tuple[str | None, str]:
    """Return ('standard' | 'above_label' | 'below_standard' | None, why) for an SSA line."""
    if t.agent == "ssa":
        return "standard", "recorded as standard-dose SSA"
    if t.agent == "ssa_above_label":
        return "above_label", "recorded as above-label SSA"
    ceiling = STANDARD_DOSE_CEILING_MG.get(t.agent)
    name = agent_name(t.agent)
    if ceiling is None:
        return None, f"{name} is not a long-acting SSA"
    if t.dose_mg is not None and t.dose_mg > ceiling:
        return "above_label", f"{name} {t.dose_mg:g} mg exceeds the standard {ceiling:g} mg"
    if t.interval_days is not None and t.interval_days < STANDARD_MIN_INTERVAL_DAYS:
        return "above_label", f"{name} every {t.interval_days:g} days is more often than every 4 weeks"
    floor = STANDARD_DOSE_FLOOR_MG[t.agent]
    if t.dose_mg is not None and t.dose_mg < floor:
        return "below_standard", f"{name} {t.dose_mg:g} mg is below the standard {floor:g} mg"
    if t.interval_days is not None and t.interval_days > STANDARD_MAX_INTERVAL_DAYS:
        return "below_standard", f"{name} every {t.interval_days:g} days is less often than every 4 weeks"
    if t.dose_mg is not None and t.interval_days is not None:
        return "standard", f"{name} {t.dose_mg:g} mg every {t.interval_days:g} days (standard)"
    return None, f"{name} dose or interval not recorded"


def progressed_value(t: Treatment) -> bool | None:
    """The record's own answer to 'did the disease progress on it' (three-valued): ``progressed``, else
    a sign of it (a stop for progression, a progression date, a best response of PD), else unknown."""
    if t.progressed is not None:
        return t.progressed
    if t.stop_reason == "progression" or t.progression_date is not None or t.best_response == "PD":
        return True
    return None


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
