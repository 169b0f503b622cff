"""Dose cards of order-sign / order-select: the label-based dose for this patient against the draft order.

Three checks, all from the agent's monograph only (no dose is made up here):

- an **adjusted dose** (a patient fact such as an interacting drug or hepatic function changes the label
  dose): the card of the finding that caused it, or a stand-alone dose card, gives the adjusted dose and
  an ``update`` suggestion setting the draft to it. When the rules that apply give no mg amount (avoid;
  rules the label does not combine, such as a strong CYP3A4 inhibitor together with an inducer, which
  leave the dose "not determined"; a percentage, a per-m2 or a GBq dose), a stand-alone dose card says
  so in its summary, cites the rules, compares the draft with the highest labelled amount, and carries
  no suggestion;
- a **dose not yet determined** (a population fact such as the age or a weight band is not recorded, so
  which labelled dose applies, if any, is open): a stand-alone warning that says so, names the facts to
  record, compares the draft with the highest labelled amount, and carries no suggestion;
- an **over-label dose** (no adjustment applies and the draft's mg dose is above the monograph's flat
  dose): a warning with the monograph's dose source and an ``update`` suggestion setting the labelled
  dose. A labelled alternative schedule (e.g. a double dose at twice the interval) counts as labelled
  when the draft's timing is that schedule; when the draft's timing differs from the label, or which
  labelled dose applies is unknown, the warning comes without a suggestion (setting only the amount
  could make it worse). When no rule applies but the monograph gives no single dose for this patient
  yet (data missing), a draft above its highest labelled amount is warned about, without a suggestion.
  Agents whose monograph gives no flat mg dose (mg/m2, mg/kg, AUC, ranges) get no over-label check.

An ``update`` suggestion is offered only to a draft that can take one (:func:`no_update_reason`): it has an
id (the client replaces the order the resource names), its one dose is a mg ``doseQuantity`` (not tablets,
a range or several instructions), and its product states no other strength than the new dose (a "60 MG
Oral Tablet" order set to 40 mg would contradict itself). Otherwise the card gives the dose in words and
says why no update is offered. The update replaces every dose[x] of that dose (a choice element) and
leaves out the instruction's free text, which states the old dose; it never writes into the sig.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from netcds.fhir.card_base import (
    OVERRIDE_REASONS,
    AgentScreenView,
    DoseAdvice,
    SafetyFinding,
    agent_label,
    agent_name,
    agent_page,
    canonical,
    card_links,
    card_source,
    cite,
    field_labels,
    summary_text,
)
from netcds.fhir.dose_schedule import (
    Labelled,
    ScheduleCheck,
    days_of,
    ordered_words,
    schedule_check,
    schedule_interval,
    schedule_not_compared_line,
)
from netcds.fhir.draft_dose import (
    EPS,
    dose_not_compared_card,
    dose_value,
    draft_dose_mg,
    interval_words,
    no_update_line,
    no_update_reason,
    update_suggestion,
)
from netcds.fhir.medication import OrderedDrug
from netcds.field_labels import applied_rule_words, pending_rule_words

ABOVE = "above the labelled dose"
ABOVE_MAX = "above the highest labelled dose"
_ALTERNATIVE = re.compile(r"(\d+(?:\.\d+)?) ?mg every (\d+(?:\.\d+)?) (day|week)s?")


def _rule_text(r: Any, names: dict[str, str]) -> str:
    """An applied rule as a card says it: named by its situation, not its id (field_labels)."""
    if isinstance(r, str):
        return applied_rule_words(r, names)
    if isinstance(r, Mapping):
        return str(r.get("says") or r.get("text") or r.get("id") or canonical(r))
    return str(r)


def dose_update(
    agent: str, draft: Mapping[str, Any], mg: float, drug: OrderedDrug | None = None
) -> tuple[dict[str, Any] | None, str | None]:
    """The ``update`` suggestion setting the draft to ``mg`` mg, or why none is offered."""
    why = no_update_reason(draft, mg, drug)
    return (None, why) if why else (update_suggestion(agent, draft, mg), None)


def _differs(draft: Mapping[str, Any] | None, d: DoseAdvice | None) -> bool:
    """Whether there is a draft MedicationRequest whose dose is not already the adjusted mg dose."""
    if (
        d is None
        or d.adjusted_mg is None
        or draft is None
        or draft.get("resourceType") != "MedicationRequest"
    ):
        return False
    current = draft_dose_mg(draft)
    return current is None or abs(current - float(d.adjusted_mg)) >= EPS


def dose_suggestion(
    screen: AgentScreenView, draft: Mapping[str, Any] | None, drug: OrderedDrug | None = None
) -> dict[str, Any] | None:
    """An ``update`` suggestion setting the draft order to the adjusted dose; None when none applies or the
    draft cannot take one (:func:`no_update_reason`)."""
    d = screen.dose
    if not _differs(draft, d):
        return None
    assert d is not None
    assert d.adjusted_mg is not None
    assert draft is not None
    if _timing_reason(schedule_check(d, draft)):
        return None
    return dose_update(screen.agent, draft, d.adjusted_mg, drug)[0]


def _timing_reason(check: ScheduleCheck | None) -> str | None:
    """Why no ``update`` to the adjusted dose is offered for the draft's timing (its :func:`schedule_check`):
    another interval than the label's (the update keeps the timing, so its total per day would not be the
    labelled one)."""
    if check is None or check.total_mg is None:
        return None
    return (
        "the draft's timing differs from the labelled schedule, so setting the amount with its timing kept "
        "would not give the labelled dose"
    )


def adjustment_applies(d: DoseAdvice | None) -> bool:
    """Whether a dose rule of the monograph applies to this patient, with or without a mg amount."""
    return d is not None and (d.adjusted_mg is not None or (d.adjusted is not None and bool(d.rules_applied)))


def dose_open(d: DoseAdvice | None) -> bool:
    """Whether the dose waits on a population fact not yet recorded (an age or a weight band: "not
    determined until recorded: ..."), with no rule applying: the label's dose may not apply to this
    patient at all (e.g. no dose under 12 years), so the standard dose is not offered as if it did."""
    return (
        d is not None
        and bool(d.pending)
        and not adjustment_applies(d)
        and str(d.adjusted or "").removeprefix(UNVERIFIED).startswith(PENDING)
    )


def _rule_items(screen: AgentScreenView) -> dict[str, SafetyFinding]:
    """The adjustment item of each rule the dose applied, first per rule id, in the screen's order (the
    notes of ``rules_applied``, such as a "not determined: ..." conflict, are not rules)."""
    d = screen.dose
    ids = d.rule_ids() if d else set()
    first: dict[str, SafetyFinding] = {}
    for f in screen.safety:
        if f.kind == "adjustment" and f.id and f.id in ids:
            first.setdefault(f.id, f)
    return first


def causing_rules(screen: AgentScreenView) -> list[str]:
    """Ids of the adjustment items whose rules the dose applied."""
    return list(_rule_items(screen))


def _rule_sources(items: dict[str, SafetyFinding], d: DoseAdvice) -> list[str]:
    """'rule: citation' for each applied dose rule (named in words), from the safety item it produced."""
    return [f"{d.rule_name(rule)}: {cite(f.source)[0]}" for rule, f in items.items()]


def adjustment_source(screen: AgentScreenView) -> Any:
    """What an adjusted dose's card cites: the source of the (first) rule that changed the dose, which is
    where this patient's dose comes from; the monograph's standard-dose source only when no rule's item is
    at hand. (The standard dose's source may be one guideline table that states it, e.g. the pancreatic
    NET table for everolimus: it is not the source of a dose the label changes, nor of another table's.)"""
    d = screen.dose
    assert d is not None
    first = next(iter(_rule_items(screen).values()), None)
    return first.source if first is not None and first.source else d.source


def pending_text(d: DoseAdvice) -> str:
    """The dose rules waiting for data as the facts to record, in the cards' labels, with the situations
    of the rules that wait on each (netcds.field_labels.pending_rule_words)."""
    return pending_rule_words(d.pending, d.rule_names, field_labels)


# how the safety screen words a dose that is no amount (netcds.safety.adjusted_dose NO_DOSE, PENDING,
# UNVERIFIED; tests/api/test_card_review.py checks they agree)
AVOID = "avoid: "
PENDING = "not determined until recorded: "
UNVERIFIED = "UNVERIFIED — "


def dose_words(adjusted: str | None) -> str:
    """The adjusted dose as a card says it: an "avoid: ..." dose by what follows the screen's marker (the
    rule's own words: no labelled dose, and that the label advises avoiding it), a "not determined until
    recorded: <paths>" dose with clinician-readable labels of the fields."""
    text = adjusted or ""
    mark = UNVERIFIED if text.startswith(UNVERIFIED) else ""
    bare = text.removeprefix(mark)
    if bare.startswith(AVOID):
        return mark + bare[len(AVOID) :]
    if bare.startswith(PENDING):
        return f"{mark}{PENDING}{field_labels([x.strip() for x in bare[len(PENDING) :].split(',')])}"
    return text


def dose_lines(
    screen: AgentScreenView, draft: Mapping[str, Any] | None, drug: OrderedDrug | None = None
) -> list[str]:
    """The dose part of an adjustment's card: the label-based dose for this patient, why, the draft's dose
    against it; when the rules give no mg amount, the words, the rules' sources and no suggestion; when the
    draft cannot take an ``update`` to the adjusted dose, why (:func:`no_update_reason`)."""
    d = screen.dose
    assert d is not None
    assert adjustment_applies(d) or dose_open(d)
    name, current = agent_name(screen.agent), draft_dose_mg(draft) if draft else None
    words = (
        dose_words(d.adjusted) if d.adjusted else f"{dose_value(d.adjusted_mg)} mg" if d.adjusted_mg else ""
    )
    standard = f" (standard: {d.standard})" if d.standard else ""
    lines = [f"**Label-based dose for this patient:** {words}{standard}"]
    if d.rules_applied:
        lines.append("**Because:** " + "; ".join(_rule_text(r, d.rule_names) for r in d.rules_applied))
    items = _rule_items(screen)
    src_label, _ = cite(adjustment_source(screen))
    sources = _rule_sources(items, d) if d.adjusted_mg is None else []
    if sources and sources != [f"{d.rule_name(next(iter(items)))}: {src_label}"]:  # not the dose source again
        lines.append("**Rule sources:** " + "; ".join(sources))
    if d.pending and not (d.adjusted or "").removeprefix(UNVERIFIED).startswith(AVOID):
        # (with a rule that says to avoid, no fact still to record would give a dose)
        lines.append("**Dose not final, data missing:** " + pending_text(d))
    # with another timing than the label's, the draft's total per the labelled interval is compared too
    check = schedule_check(d, draft) if current is not None else None
    total = check.total_mg if check else None
    amount = max(current, total) if current is not None and total is not None else current
    if current is None or amount is None:
        lines.append(f"**Draft {name} dose:** not stated as a mg quantity")
    elif d.adjusted_mg is None:
        above = d.maximum_mg is not None and amount > d.maximum_mg + EPS
        lines.append(
            f"**Draft {name} dose:** {ordered_words(current, check)}"
            + (f", {ABOVE_MAX} ({dose_value(d.maximum_mg or 0)} mg)" if above else "")
        )
    elif abs(current - float(d.adjusted_mg)) < EPS and total is None:
        lines.append(f"**Draft {name} dose:** {current:g} mg, already the adjusted dose")
    elif amount > d.adjusted_mg + EPS:
        lines.append(f"**Draft {name} dose:** {ordered_words(current, check)}, {ABOVE} for this patient")
    else:
        lines.append(f"**Draft {name} dose:** {ordered_words(current, check)}")
    if (unread := schedule_not_compared_line(check)) is not None:
        lines.append(unread)
    if dose_open(d):
        lines.append(
            "**No dose change suggested:** which labelled dose applies to this patient depends on the facts "
            "above, so netcds has no dose to offer until they are recorded."
        )
    elif d.adjusted_mg is None:
        lines.append(
            "**No dose change suggested:** the label-based dose for this patient is no single mg amount, "
            "so netcds has no dose to offer."
        )
    elif timing := _timing_reason(check):
        lines.append(no_update_line(timing))  # the update keeps the timing: it would not be the label's
    elif _differs(draft, d):
        assert draft is not None
        why = no_update_reason(draft, d.adjusted_mg, drug)
        if why:
            lines.append(no_update_line(why))
    lines.append(f"**Dose source:** {src_label}")
    return lines


def _card(
    screen: AgentScreenView,
    source: Any,
    summary: str,
    indicator: str,
    lines: list[str],
    suggestion: dict[str, Any] | None,
    base_url: str,
) -> dict[str, Any]:
    """A dose card: the monograph's dose source, a link to the agent's dosing data, the suggestion if any."""
    label = agent_label(screen.agent)
    src_label, src_url = cite(source)
    card: dict[str, Any] = {
        "summary": summary_text(summary),
        "indicator": indicator,
        "detail": "\n\n".join(lines),
        "source": card_source(src_label, src_url, "dose-adjustment", "Dose adjustment"),
        "links": card_links(agent_page(base_url, screen.agent), f"netcds: {label} dosing information"),
    }
    if suggestion:
        card["suggestions"] = [suggestion]
        card["selectionBehavior"] = "at-most-one"
    return card


def dose_card(
    screen: AgentScreenView, draft: Mapping[str, Any] | None, base_url: str, drug: OrderedDrug | None = None
) -> dict[str, Any] | None:
    """A stand-alone dose card, for an adjustment no safety finding card carries, for every adjustment
    that gives no mg amount (its summary says the dose in words: avoid, not determined, a percentage), and
    for a dose that waits on an unrecorded population fact such as the age ("not determined until
    recorded": no suggestion; the standard dose is not offered as this patient's)."""
    d = screen.dose
    if d is None or not (adjustment_applies(d) or dose_open(d)):
        return None
    label = agent_label(screen.agent)
    source = adjustment_source(screen)
    if d.adjusted_mg is None:  # avoid, not determined (or not until recorded), no mg amount: words only
        lines = dose_lines(screen, draft, drug)
        summary = f"{label} dose: {dose_words(d.adjusted)}"
        card = _card(screen, source, summary, "warning", lines, None, base_url)
        card["overrideReasons"] = [dict(r) for r in OVERRIDE_REASONS]
        return card
    value = dose_value(d.adjusted_mg)
    current = draft_dose_mg(draft) if draft is not None else None
    check = schedule_check(d, draft)
    same_timing = check is None or (check.total_mg is None and check.not_compared is None)
    matches = current is not None and abs(current - float(d.adjusted_mg)) < EPS and same_timing
    card = _card(
        screen,
        source,
        f"{label}: draft dose {value} mg matches the label-based adjustment"
        if matches
        else f"{label}: the label-based dose for this patient is {value} mg (adjusted)",
        "info" if matches else "warning",
        dose_lines(screen, draft, drug),
        dose_suggestion(screen, draft, drug),
        base_url,
    )
    if not matches:
        card["overrideReasons"] = [dict(r) for r in OVERRIDE_REASONS]
    return card


# --- over-label dose ------------------------------------------------------------------------------------
def patient_dose_mg(d: DoseAdvice) -> float | None:
    """The monograph's dose for this patient in mg: the adjusted dose when an adjustment applies, its flat
    standard dose when none does; None when it is no flat mg amount (avoid, a percentage, not determined)."""
    if d.adjusted_mg is not None:
        return d.adjusted_mg
    return d.standard_mg if d.adjusted is None else None


def _labelled(d: DoseAdvice, mine: float) -> list[Labelled]:
    schedule = d.schedule or ""
    out: list[Labelled] = [(mine, schedule_interval(schedule))]
    if d.adjusted is None:  # the label's other schedules stand beside its standard dose, not an adjusted one
        out += [(float(m[1]), days_of(m[2], m[3])) for m in _ALTERNATIVE.finditer(schedule.lower())]
    return out


@dataclass(frozen=True)
class OverLabel:
    """A draft dose above the monograph's dose for this patient (``basis`` "patient"), or, when that dose
    is not determined, above the highest labelled amount ("maximum"): each dose above it, or (``by_total``)
    each dose within it but its total per the labelled interval above it, the draft's timing being another
    than the label's (10 mg twice daily against 10 mg once daily)."""

    ordered_mg: float
    limit_mg: float
    basis: Literal["patient", "maximum"]
    suggest_mg: float | None  # the labelled dose to set, when which one applies is unambiguous
    why_no_suggestion: str | None = None
    schedule: ScheduleCheck | None = None
    by_total: bool = False


OTHER_TIMING = "the draft's timing differs from the labelled schedule"


def _above_total(check: ScheduleCheck | None, options: list[Labelled]) -> bool:
    """Whether the draft's dose per day is above that of every labelled schedule with a read interval
    (its total per the labelled interval above the labelled dose)."""
    if check is None or check.total_mg is None or check.draft_days is None:
        return False
    rate = float(f"{check.total_mg / (check.label_days or 1):.12g}")  # the draft's mg per day
    known = [(mg, days) for mg, days in options if days]
    return bool(known) and all(rate > float(f"{mg / days:.12g}") + EPS for mg, days in known)


def over_label(screen: AgentScreenView, draft: Mapping[str, Any] | None) -> OverLabel | None:
    """Whether the draft order's mg dose is above what the monograph gives this patient: each dose, or, with
    another timing than the label's, its total per the labelled interval (:func:`schedule_check`)."""
    d = screen.dose
    if d is None or draft is None or draft.get("resourceType") != "MedicationRequest":
        return None
    ordered = draft_dose_mg(draft)
    if ordered is None:
        return None
    check = schedule_check(d, draft)
    mine = patient_dose_mg(d)
    if mine is None:
        if d.maximum_mg is None:
            return None
        unknown = "no single labelled dose is determined for this patient"
        if ordered > d.maximum_mg + EPS:
            return OverLabel(ordered, d.maximum_mg, "maximum", None, unknown, check)
        if _above_total(check, [(d.maximum_mg, check.label_days if check else None)]):
            return OverLabel(ordered, d.maximum_mg, "maximum", None, unknown, check, by_total=True)
        return None
    options = _labelled(d, mine)
    interval = check.draft_days if check else None
    same = [
        mg for mg, days in options if interval is not None and days and abs(days - interval) <= 1e-6 * days
    ]
    limit: float = mine
    suggest: float | None = None
    why: str | None = OTHER_TIMING
    if same:
        limit, suggest, why = same[0], same[0], None
    elif len(options) > 1:
        why = (
            "the draft's timing is none of the labelled schedules"
            if interval
            else "the draft states no timing"
        )
    elif interval is None or options[0][1] is None:
        suggest, why = mine, None  # one labelled dose: setting the amount is unambiguous
    if ordered > limit + EPS:
        return OverLabel(ordered, limit, "patient", suggest, why, check)
    if not same and _above_total(check, options):
        # setting the amount, timing kept, would not give the labelled schedule: no suggestion
        return OverLabel(ordered, mine, "patient", None, OTHER_TIMING, check, by_total=True)
    return None


def over_label_card(
    screen: AgentScreenView, draft: Mapping[str, Any] | None, base_url: str, drug: OrderedDrug | None = None
) -> dict[str, Any] | None:
    """A warning for a draft dose above the monograph's dose for this patient; None when there is none, or
    when an adjustment applies, with or without a mg amount (its card already gives the draft dose
    against the adjusted dose or the highest labelled amount)."""
    d = screen.dose
    if d is None or adjustment_applies(d) or draft is None:
        return None
    found = over_label(screen, draft)
    if found is None:
        return None
    label, name = agent_label(screen.agent), agent_name(screen.agent)
    src_label, _ = cite(d.source)
    ordered, limit = dose_value(found.ordered_mg), dose_value(found.limit_mg)
    check = found.schedule
    words = ordered_words(found.ordered_mg, check)
    per = f" per {interval_words(check.label_days)}" if found.by_total and check and check.label_days else ""
    shown = words if found.by_total else f"{ordered} mg"
    if found.basis == "patient":
        summary = f"{label}: ordered {shown} is {ABOVE} for this patient ({limit} mg{per})"
        lines = [f"**Draft {name} dose:** {words}, {ABOVE} for this patient"]
        lines.append(
            f"**Labelled dose for this patient:** {limit} mg"
            + (f" (label schedule: {d.schedule})" if d.schedule else "")
        )
    else:
        summary = f"{label}: ordered {shown} is {ABOVE_MAX} ({limit} mg{per})"
        lines = [f"**Draft {name} dose:** {words}, {ABOVE_MAX} ({limit} mg{per})"]
        if d.adjusted:
            lines.append(f"**Label-based dose for this patient:** {dose_words(d.adjusted)}")
    if d.standard:
        lines.append(f"**Label dose:** {d.standard}")
    if d.pending:
        lines.append("**Dose not final, data missing:** " + pending_text(d))
    if (unread := schedule_not_compared_line(check)) is not None:
        lines.append(unread)
    suggestion: dict[str, Any] | None = None
    if found.suggest_mg is None:
        lines.append(
            f"**No dose change suggested:** {found.why_no_suggestion}, so netcds has no single labelled "
            "dose to offer."
        )
    else:
        suggestion, why = dose_update(screen.agent, draft, found.suggest_mg, drug)
        if why:
            lines.append(no_update_line(why))
    lines.append(f"**Dose source:** {src_label}")
    card = _card(screen, d.source, summary, "warning", lines, suggestion, base_url)
    card["overrideReasons"] = [dict(r) for r in OVERRIDE_REASONS]
    return card


def not_compared_card(
    screen: AgentScreenView, draft: Mapping[str, Any] | None, base_url: str
) -> dict[str, Any] | None:
    """The card saying the draft's dose was not compared with the labelled dose, when :func:`over_label_card`
    would compare it but its unit cannot be read as a mass (mL, tablets, no unit). With an adjusted or an
    open dose the dose card's "Draft ... dose" line says it is not stated as a mg quantity; an agent
    without a flat mg dose (per m2, per kg) is not compared at all."""
    dose = screen.dose
    if draft is None or dose is None or adjustment_applies(dose) or dose_open(dose):
        return None
    mine = patient_dose_mg(dose)
    if mine is not None:
        schedule = f" (label schedule: {dose.schedule})" if dose.schedule else ""
        line = f"**Labelled dose for this patient:** {dose_value(mine)} mg{schedule}"
    elif dose.maximum_mg is not None:
        line = f"**Highest labelled dose:** {dose_value(dose.maximum_mg)} mg (no single labelled dose is "
        line += "determined for this patient)"
    else:
        return None
    return dose_not_compared_card(
        screen.agent, draft, line, dose.source, base_url
    ) or schedule_not_compared_card(screen, draft, line, base_url)


def schedule_not_compared_card(
    screen: AgentScreenView, draft: Mapping[str, Any], labelled: str, base_url: str
) -> dict[str, Any] | None:
    """An info card saying the draft's schedule was not compared with the label's (its timing not read: none,
    only a code such as BID, a range, a unit or form netcds does not read), so its total per day is not
    checked, instead of passing over it; None when the schedule was compared or the draft has no mg dose.
    ``labelled``: the card line of the labelled dose (as :func:`not_compared_card` gives it)."""
    d = screen.dose
    assert d is not None
    check = schedule_check(d, draft)
    line = schedule_not_compared_line(check)
    ordered = draft_dose_mg(draft)
    if line is None or check is None or ordered is None:
        return None
    label, name = agent_label(screen.agent), agent_name(screen.agent)
    src_label, _ = cite(d.source)
    lines = [f"**Draft {name} dose:** {dose_value(ordered)} mg per dose", labelled, line]
    lines.append(f"**Dose source:** {src_label}")
    why = check.not_compared or ""
    summary = f"{label}: ordered schedule not compared with the labelled schedule: {why}"
    return _card(screen, d.source, summary, "info", lines, None, base_url)
