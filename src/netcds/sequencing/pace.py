"""Pace of progression: as recorded, or derived from dated tumor measurements.

Derivation (a netcds convention, NOT guideline content): take the latest
assessment with a sum of target-lesion diameters and the smallest earlier sum
(the nadir, as RECIST measures progression from the nadir). Growth per month =
(latest / nadir - 1) x 100 / months between them. Below the slow threshold ->
slow; at or above the rapid threshold -> rapid; otherwise moderate. With the
defaults (1 %/month and 3 %/month) a 20 % increase (the RECIST size threshold)
within about 6.7 months reads as rapid and one taking longer than 20 months as
slow. No growth since the nadir reads as slow.
"""

from __future__ import annotations

from netcds.patient import Patient
from netcds.sequencing.data import Conventions
from netcds.sequencing.lines import months
from netcds.sequencing.models import Measurement, ProgressionPace


def _convention(c: Conventions) -> str:
    return (
        f"netcds convention, not guideline content: growth of the sum of diameters from its nadir, "
        f"< {c.pace_slow_below_pct_per_month:g} %/month slow, >= {c.pace_rapid_from_pct_per_month:g} %/month "
        f"rapid, otherwise moderate. {c.note}"
    )


def _derive(patient: Patient, c: Conventions) -> ProgressionPace:
    measured = sorted(
        (a for a in patient.assessments or [] if a.sum_of_diameters_mm is not None), key=lambda a: a.date
    )
    if len(measured) < 2:
        have = len(measured)
        return ProgressionPace(
            value=None,
            derived_from=None,
            convention=_convention(c),
            missing=["disease.progression_pace", "assessments"],
            rule=f"not assessed: disease.progression_pace not recorded and {have} measured assessment(s) "
            "(two dated sums of diameters are needed)",
        )
    latest = measured[-1]
    earlier = [a for a in measured[:-1] if a.date < latest.date]
    if not earlier:
        return ProgressionPace(
            value=None,
            derived_from=None,
            convention=_convention(c),
            missing=["assessments"],
            rule="not assessed: all measured assessments share one date",
        )
    nadir = min(earlier, key=lambda a: (a.sum_of_diameters_mm or 0.0, a.date))
    n_sod, l_sod = nadir.sum_of_diameters_mm or 0.0, latest.sum_of_diameters_mm or 0.0
    used = [
        Measurement(date=nadir.date, sum_of_diameters_mm=n_sod),
        Measurement(date=latest.date, sum_of_diameters_mm=l_sod),
    ]
    span = months(nadir.date, latest.date)
    if n_sod == 0:
        return ProgressionPace(
            value=None,
            derived_from=None,
            measurements=used,
            convention=_convention(c),
            missing=["disease.progression_pace"],
            rule="not assessed: nadir sum of diameters is 0 mm, so relative growth is undefined",
        )
    if span <= 0:
        return ProgressionPace(
            value=None,
            derived_from=None,
            measurements=used,
            convention=_convention(c),
            missing=["disease.progression_pace"],
            rule="not assessed: nadir and latest measurement too close together for a monthly rate",
        )
    growth = (l_sod / n_sod - 1.0) * 100.0
    rate = round(growth / span, 2)
    if growth <= 0:
        value, how = "slow", "no growth since the nadir"
    elif rate >= c.pace_rapid_from_pct_per_month:
        value, how = "rapid", f"at or above {c.pace_rapid_from_pct_per_month:g} %/month"
    elif rate < c.pace_slow_below_pct_per_month:
        value, how = "slow", f"below {c.pace_slow_below_pct_per_month:g} %/month"
    else:
        value, how = (
            "moderate",
            (f"between {c.pace_slow_below_pct_per_month:g} and {c.pace_rapid_from_pct_per_month:g} %/month"),
        )
    rule = (
        f"sum of diameters {n_sod:g} mm (nadir, {nadir.date}) -> {l_sod:g} mm ({latest.date}): "
        f"{growth:+.1f} % over {span:g} months = {rate:+.2f} %/month, {how} -> {value}"
    )
    return ProgressionPace(
        value=value,
        derived_from="assessments",
        rule=rule,
        growth_percent_per_month=rate,
        measurements=used,
        convention=_convention(c),
    )


def progression_pace(patient: Patient, c: Conventions) -> ProgressionPace:
    """The recorded pace wins; otherwise the derived one; otherwise 'not assessed' naming the fields."""
    derived = _derive(patient, c)
    recorded = patient.disease.progression_pace
    if recorded is None:
        return derived
    rule = f"recorded by the clinician as {recorded}"
    if derived.value is not None and derived.value != recorded:
        rule += f" (the measurements alone would read {derived.value}: {derived.rule})"
    elif derived.value is not None:
        rule += " (consistent with the measurements)"
    return ProgressionPace(
        value=recorded,
        derived_from="disease.progression_pace",
        rule=rule,
        growth_percent_per_month=derived.growth_percent_per_month,
        measurements=derived.measurements,
        convention=derived.convention,
    )
