"""Ki-67: the percentage of an Observation, and the Ki-67 components of a panel Observation (a synoptic
pathology report) read as Observations of their own."""

from __future__ import annotations

from netcds.fhir.context import Ctx
from netcds.fhir.observation_kinds import classify
from netcds.fhir.read import Res, no_value_reason, quantity

# the elements of a panel Observation that its components share (FHIR R4 Observation.component)
PANEL_SHARED = ("resourceType", "id", "status", "category", "subject", "focus", "encounter", "issued",
                "effectiveDateTime", "effectivePeriod", "effectiveInstant", "effectiveTiming", "extension",
                "specimen")  # fmt: skip


def ki67_components(res: Res) -> list[Res]:
    """The Ki-67 percentage components of a panel Observation (e.g. a synoptic pathology report), each as an
    Observation with the panel's status, dates, subject, focus and extensions and the component's code and
    value; its ``loc`` ends in ``.component[i]`` and its ``ref`` is the panel's, so the report names it."""
    out: list[Res] = []
    for i, comp in enumerate(res.data.get("component", []) or []):
        data = {k: v for k, v in res.data.items() if k in PANEL_SHARED}
        data.update({k: v for k, v in comp.items() if k != "extension"})
        part = Res(f"{res.loc}.component[{i}]", res.rtype, data, res.ref, res.full_url, set(res.aliases))
        if classify(part) == "ki67":
            out.append(part)
    return out


def percent_of(ctx: Ctx, res: Res, what: str) -> float | None:
    """The value of ``res`` as a percentage in 0-100 (``what`` names it in the report), or None."""
    q = quantity(res.data.get("valueQuantity"))
    if q is None:
        ctx.unmapped(res, no_value_reason(what, res.data.get("valueQuantity")), res.data.get("code"))
        return None
    if q[1] not in ("%", "percent"):
        ctx.unmapped(res, f"{what}: unit {q[1]!r} is not %", res.data.get("code"))
        return None
    if not 0 <= q[0] <= 100:
        ctx.unmapped(res, f"{what}: {q[0]:g}% is outside 0-100", res.data.get("code"))
        return None
    return q[0]
