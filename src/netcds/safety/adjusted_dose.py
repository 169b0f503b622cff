"""The adjusted dose: how the dose rules that apply to a patient combine into one dose, or into none.

:func:`combine` takes an agent's applied adjustments in data order (a population starting dose first)
and gives the adjusted dose in words with its amount; rules that cannot be combined, a rule to avoid,
a situation the label gives no dose for, or a dose below the lowest labelled one give no dose at all,
never a made-up one. The words such a dose text begins with (:data:`NO_DOSE`, the :data:`UNVERIFIED`
mark) are read by the reports and cards (:func:`gives_no_dose`).
"""

from __future__ import annotations

from netcds.field_labels import in_sentence, situation_name
from netcds.safety.schema import Adjustment, Effect, Monograph

UNVERIFIED = "UNVERIFIED — "


def sets_population_dose(a: Adjustment) -> bool:
    """A population starting dose: a fixed ``base`` or a dose by body weight (``per_kg``)."""
    return a.effect.base is not None or a.effect.per_kg is not None


def decides_population(a: Adjustment) -> bool:
    """Whether a rule decides the patient's labelled population (a population starting dose, or a rule
    marked ``population``, such as an age the label gives no dose below): unknown facts leave the dose
    open."""
    return sets_population_dose(a) or a.population


def _per_kg(e: Effect, weight_kg: float | None) -> float | None:
    """The amount of a per-kg dose for this weight, capped at ``up_to``; None without a weight."""
    if e.per_kg is None or weight_kg is None:
        return None
    amount = round(e.per_kg * weight_kg, 1)
    return min(amount, e.up_to) if e.up_to is not None else amount


def _fmt(x: float) -> str:
    return f"{x:g}"


# the adjusted dose in words, its amount, notes for rules_applied, and whether the label gives no dose at all
Combined = tuple[str | None, float | None, list[str], bool]
NOT_DETERMINED = "not determined: "
PENDING = "not determined until recorded: "
NO_DOSE = ("avoid: ", NOT_DETERMINED, PENDING)  # how a dose text that gives no dose at all begins


def gives_no_dose(adjusted: str | None) -> bool:
    """Whether an adjusted-dose text gives no dose at all (avoid, not determined), UNVERIFIED mark or not."""
    return str(adjusted or "").removeprefix(UNVERIFIED).startswith(NO_DOSE)


def _situation(a: Adjustment) -> str:
    """What an adjustment is about, from its finding ("Strong CYP3A4 inhibitor: ..." -> "strong CYP3A4
    inhibitor"), for use inside a sentence."""
    return in_sentence(situation_name(a.finding))


def _way(e: Effect) -> str:
    return "a fixed dose" if e.set is not None else "a percentage" if e.percent is not None else "a change"


def _direction(e: Effect, reference: float | None) -> int:
    """+1 when the effect raises the dose, -1 when it lowers it, 0 when neither (or unknown)."""
    if e.change is not None:
        return (e.change > 0) - (e.change < 0)
    if e.percent is not None:
        return -1 if e.percent < 100 else 0
    if e.set is not None and reference is not None:
        return (e.set > reference) - (e.set < reference)
    return 0


def _conflict(numeric: list[Adjustment], reference: float | None) -> str | None:
    """Why the dose-changing rules that apply cannot be combined into one dose; None when they can
    (one rule; changes of the same kind and direction; the same fixed dose more than once)."""
    if len(numeric) < 2:
        return None
    directions = {_direction(a.effect, reference) for a in numeric}
    if {1, -1} <= directions:
        return "they change the dose in opposite directions"
    ways = sorted({_way(a.effect) for a in numeric})
    if len(ways) > 1:
        return f"they change the dose in different ways ({' and '.join(ways)})"
    if len({a.effect.set for a in numeric if a.effect.set is not None}) > 1:
        return "each sets a different fixed dose"
    return None


def combine(mono: Monograph, applied: list[Adjustment], amount: float | None,
             weight_kg: float | None = None) -> Combined:  # fmt: skip
    """The adjusted dose from the applied rules, in data order (population dose first; a per-kg dose is
    computed from ``weight_kg``, which its rule reads, so the rule applies only with a recorded weight).

    No dose when a rule says to avoid, when a rule's situation has no labelled dose (``undetermined``),
    when the dose-changing rules that apply cannot be combined (:func:`_conflict`): the label gives no
    dose for those situations together, so none is made up (the last rule applied is not allowed to win),
    or when they would take the dose below the lowest labelled dose."""
    d = mono.dose
    if not applied:
        return None, None, [], False
    avoid = [a for a in applied if a.effect.avoid]
    if avoid:
        return NO_DOSE[0] + "; ".join(a.effect.text for a in avoid), None, [], True
    unlabelled = [a for a in applied if a.effect.undetermined]
    if unlabelled:  # the label gives no dose here (e.g. not studied) without saying to avoid
        return NOT_DETERMINED + "; ".join(a.effect.text for a in unlabelled), None, [], True
    notes: list[str] = []
    by_weight = [a for a in applied if a.effect.per_kg is not None]
    if by_weight and _per_kg(by_weight[0].effect, weight_kg) is None:  # cannot happen: the rule reads weight
        return f"{PENDING}weight_kg", None, [], False
    bases = [
        a.effect.base if a.effect.base is not None else _per_kg(a.effect, weight_kg)
        for a in applied
        if sets_population_dose(a)
    ]
    numeric = [a for a in applied if not sets_population_dose(a)]
    why = _conflict(numeric, bases[-1] if bases else amount)
    if why:
        situations = " together with ".join(dict.fromkeys(_situation(a) for a in numeric))
        rules = " and ".join(f"{a.id} ({a.source.section})" for a in numeric)
        notes.append(f"{NOT_DETERMINED}{rules}: {why}; the label gives no dose for them together")
        text = (
            f"{NOT_DETERMINED}the label gives no dose for {situations} ({why}); each rule's dose applies "
            "only without the other"
        )
        return text, None, notes, True
    value, percent, withhold = amount, None, False
    for a in applied:
        e = a.effect
        withhold = withhold or e.withhold_first
        if e.per_kg is not None:
            value = _per_kg(e, weight_kg)
            raw = round(e.per_kg * (weight_kg or 0), 1)
            capped = f", capped at {_fmt(e.up_to)} {d.unit}" if e.up_to is not None and raw > e.up_to else ""
            per_kg = f"{_fmt(e.per_kg)} {d.unit}/kg x {_fmt(weight_kg or 0)} kg"
            notes.append(f"{a.id}: {per_kg} = {_fmt(raw)} {d.unit}{capped}")
        elif e.base is not None or e.set is not None:
            value = e.base if e.base is not None else e.set
        elif e.change is not None:
            value = None if value is None else value + e.change
        elif e.percent is not None:
            percent = e.percent if percent is None else percent * e.percent / 100
    effects = {(a.effect.set, a.effect.change, a.effect.percent) for a in numeric}
    if len(numeric) > 1 and (len(effects) > 1 or any(a.effect.set is None for a in numeric)):
        notes.append(
            "combined: the label does not describe these adjustments together; they are applied in "
            "sequence here — verify against the label"
        )
    prefix = "withhold until recovery, then " if withhold else ""
    if percent is not None:
        return f"{prefix}{_fmt(percent)}% of the protocol dose", None, notes, False
    if value is None:
        return prefix + "; ".join(a.effect.text for a in applied), None, notes, False
    if d.maximum is not None and value > d.maximum:
        notes.append(f"capped at the labelled maximum of {_fmt(d.maximum)} {d.unit}")
        value = d.maximum
    if d.minimum is not None and value < d.minimum:
        # no dose at all, never the minimum ("no labelled dose below 20 mg" reads as "give 20 mg"); the flag
        # stays False: a population base still to be recorded could change the amount reached
        lowest = f"{_fmt(d.minimum)} {d.unit} {d.schedule}"
        rules = " and ".join(a.id for a in applied)
        notes.append(f"{NOT_DETERMINED}{rules} would take the dose below the lowest labelled dose ({lowest})")
        text = (
            f"{NOT_DETERMINED}the adjustments that apply would take the dose below the lowest labelled dose "
            f"({lowest}); the label gives no dose below it, so none is given here"
        )
        return text, None, notes, False
    schedule = f"({by_weight[0].effect.text})" if by_weight else d.schedule  # a per-kg dose has its own
    return f"{prefix}{_fmt(value)} {d.unit} {schedule}", value, notes, False
