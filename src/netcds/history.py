"""Treatment-history helpers shared by the facts and the sequencing engine.

SSA dose levels follow the guideline's footnotes e and h (NE-H): standard is
octreotide LAR 20-30 mg or lanreotide 120 mg every 4 weeks; above-label goes
up to octreotide LAR 60 mg monthly or lanreotide 120 mg every 14 days.
"""

from __future__ import annotations

from netcds.field_labels import agent_name
from netcds.patient import Treatment

# a 4-weekly schedule, allowing the usual few days either side
STANDARD_MIN_INTERVAL_DAYS = 26
STANDARD_DOSE_CEILING_MG = {"octreotide_lar": 30.0, "lanreotide": 120.0}


def ssa_dose_level(t: Treatment) -> tuple[str | None, str]:
    """Return ('standard' | 'above_label' | None, why) for an SSA line."""
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
    if t.dose_mg is not None and t.interval_days is not None:
        return "standard", f"{name} {t.dose_mg:g} mg every {t.interval_days:g} days (standard)"
    return None, f"{name} dose or interval not recorded"
