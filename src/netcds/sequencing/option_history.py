"""Per-option history: what the patient already had of this regimen (or its class), kept beside it.

An option the patient already received is never dropped; it carries its
courses (line, dates, duration, best response, progression, stop reason). A
category rule that reads the history (e.g. cabozantinib category 1 after
everolimus or Lu-177) is shown with the lines that meet it.
"""

from __future__ import annotations

from netcds.evaluation import Option
from netcds.facts import Facts
from netcds.field_labels import agent_name
from netcds.knowledge.schema import Entry
from netcds.logic.ast import All, AnyOf, Condition, History, Not
from netcds.logic.evaluate import evaluate
from netcds.patient import REGIMEN_AGENTS
from netcds.sequencing.data import SequencingData
from netcds.sequencing.lines import PROGRESSING_NOW, best_response
from netcds.sequencing.models import CategoryTrigger, Course, LineOfTherapy, LineRef, OptionHistory


def history_nodes(c: Condition) -> list[History]:
    if isinstance(c, History):
        return [c]
    if isinstance(c, All | AnyOf):
        return [h for i in c.items for h in history_nodes(i)]
    if isinstance(c, Not):
        return history_nodes(c.item)
    return []


def option_classes(regimen: str, data: SequencingData) -> list[str]:
    return list(
        dict.fromkeys(c for a in REGIMEN_AGENTS.get(regimen, ()) if (c := data.class_of(a)) is not None)
    )


def courses_of(regimen: str, lines: list[LineOfTherapy]) -> list[LineOfTherapy]:
    return [ln for ln in lines if regimen in ln.counts_as]


def lines_giving(
    regimen: str, lines: list[LineOfTherapy], data: SequencingData
) -> list[tuple[LineOfTherapy, str]]:
    """Lines that gave this regimen's agents, each with how in words: the line counts as the regimen
    (``counts_as``), or it held every agent the regimen requires inside a larger combination (FOLFOX's
    agents inside FOLFIRINOX). A backbone SSA is not counted: the SSA plan speaks for it. An entry that
    is a group of agents (the GI table's cytotoxic chemotherapy, recognised with no required agent) was
    not given as such: the words say an agent of the group was."""
    recognised = [r for r in data.recognition if r.regimen == regimen]
    requires = [set(r.requires) for r in recognised if r.requires]
    group = bool(recognised) and not requires
    out: list[tuple[LineOfTherapy, str]] = []
    for ln in lines:
        if regimen in ln.counts_as:
            how = (
                ""
                if ln.regimen == regimen and not group
                else "an agent of this group was given"
                if group
                else "counted as this option"
            )
        elif any(req <= set(ln.agents) for req in requires):
            how = "it held every agent of this regimen"
        else:
            continue
        out.append((ln, how))
    return out


def same_class_lines(
    regimen: str, lines: list[LineOfTherapy], data: SequencingData
) -> list[tuple[LineOfTherapy, list[str]]]:
    mine = set(option_classes(regimen, data))
    out = []
    for ln in lines:
        if regimen in ln.counts_as:
            continue
        shared = [c for c in ln.classes if c in mine]
        if shared:
            out.append((ln, shared))
    return out


def _triggers(entry: Entry | None, lines: list[LineOfTherapy], facts: Facts) -> list[CategoryTrigger]:
    out: list[CategoryTrigger] = []
    for rule in entry.category_rules if entry else []:
        nodes = history_nodes(rule.when)
        if not nodes:
            continue
        refs: list[LineRef] = []
        for ln in lines:
            held = set(ln.agents) | set(ln.backbone)
            for h in nodes:
                hit = held & set(h.agents)
                if hit and (h.op == "received" or ln.progressed):
                    verb = "received" if h.op == "received" else "progressed on"
                    refs.append(
                        LineRef(
                            line=ln.line,
                            agents=sorted(hit),
                            detail=f"line {ln.line}: {verb} {ln.label}",
                        )
                    )
                    break
        out.append(
            CategoryTrigger(
                category=rule.category, says=rule.says, met=evaluate(rule.when, facts).value, lines=refs
            )
        )
    return out


def _course(ln: LineOfTherapy) -> Course:
    return Course(
        line=ln.line,
        regimen=ln.regimen,
        start=ln.start,
        end=ln.end,
        duration_months=ln.duration_months,
        best_response=ln.best_response,
        progressed=ln.progressed,
        progression_type=ln.progression_type,
        stop_reason=ln.stop_reason,
        durability=ln.durability,
    )


def _course_words(ln: LineOfTherapy) -> str:
    dates = f"{ln.start or '?'} to {ln.end or 'ongoing'}"
    dur = f", {ln.duration_months:g} months" if ln.duration_months is not None else ""
    bits = [f"line {ln.line} ({ln.label}, {dates}{dur})"]
    if ln.best_response:
        bits.append(f"best response {ln.best_response}")
    if ln.progressed and PROGRESSING_NOW in ln.notes:
        bits.append("progressing now (disease status progressive while it is ongoing)")
    elif ln.progressed:
        when = f" on {ln.progression_date}" if ln.progression_date else ""
        kind = f" ({ln.progression_type})" if ln.progression_type else ""
        after = (
            f" after {ln.durability.months:g} months"
            if ln.durability.to_progression and ln.durability.months is not None
            else ""
        )
        bits.append(f"progressed{when}{kind}{after}")
    elif ln.progressed is False:
        bits.append("no progression recorded on it")
    if ln.stop_reason and ln.stop_reason != "progression":
        bits.append(f"stopped: {ln.stop_reason.replace('_', ' ')}")
    return "; ".join(bits)


def option_history(
    option: Option, entry: Entry | None, lines: list[LineOfTherapy], data: SequencingData, facts: Facts
) -> OptionHistory | None:
    """History for one option, or None when the history holds nothing about it."""
    if facts.patient.treatments is None:
        return OptionHistory(received=None, summary="not assessed: treatments (history not recorded)")
    mine = courses_of(option.regimen, lines)
    triggers = _triggers(entry, lines, facts)
    related = same_class_lines(option.regimen, lines, data)
    if not mine and not related and not any(t.lines for t in triggers):
        return None
    parts: list[str] = []
    if mine:
        parts.append("Received: " + " | ".join(_course_words(ln) for ln in mine))
    else:
        parts.append("Not received before")
    for t in triggers:
        if t.lines:
            parts.append(
                f"Category {t.category} condition ({t.says}) met by "
                + ", ".join(f"line {r.line} ({', '.join(agent_name(a) for a in r.agents)})" for r in t.lines)
            )
    refs = [
        LineRef(
            line=ln.line,
            agents=ln.agents,
            detail=f"line {ln.line} ({ln.label}) shares class: "
            + ", ".join(data.classes[c].label for c in shared),
        )
        for ln, shared in related
    ]
    if refs and not mine:
        parts.append("Same mechanism class as " + ", ".join(f"line {r.line}" for r in refs))
    progressed = [ln.progressed for ln in mine]
    prog: bool | None = (
        (
            True
            if any(p is True for p in progressed)
            else None
            if any(p is None for p in progressed)
            else False
        )
        if mine
        else None
    )
    known = [ln.duration_months for ln in mine]
    return OptionHistory(
        received=bool(mine),
        lines=[ln.line for ln in mine],
        courses=[_course(ln) for ln in mine],
        total_months=round(sum(m for m in known if m is not None), 1) if mine and None not in known else None,
        best_response=best_response([ln.best_response for ln in mine]),
        progressed=prog,
        stopped_for_toxicity=any("toxicity" in ln.stop_reasons for ln in mine),
        stop_reasons=list(dict.fromkeys(s for ln in mine for s in ln.stop_reasons)),
        same_class_lines=refs,
        category_triggers=triggers,
        summary=". ".join(parts) + ".",
    )
