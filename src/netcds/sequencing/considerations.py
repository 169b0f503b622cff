"""Evaluate the consideration rules for each option, with the history and pace facts added.

Each rule of ``knowledge/sequencing/considerations.yaml`` that applies to the
option's regimen (and table) is evaluated three-valued with the project's
evaluator. TRUE gives a consideration carrying the rule id, factor, direction,
text, the findings that made it true and its sources; UNKNOWN gives nothing
but lists the fields that would decide it under ``not_assessed``.
"""

from __future__ import annotations

from netcds.evaluation import Option
from netcds.facts import SSA_AGENTS, Derived, Facts, any3, progressed_on
from netcds.field_labels import agent_name
from netcds.history import progression_assessed_after
from netcds.logic.ast import facts_of
from netcds.logic.evaluate import evaluate, settle
from netcds.patient import Patient
from netcds.sequencing.comorbidity import FACT as COMORBIDITY_FACT
from netcds.sequencing.comorbidity import comorbidity_fact, item_sources
from netcds.sequencing.data import PLACEHOLDER, SequencingData, lookups
from netcds.sequencing.lines import PROGRESSING_NOW, line_stopped_before_progression, months
from netcds.sequencing.models import (
    Consideration,
    HistorySummary,
    LineMember,
    LineOfTherapy,
    ProgressionPace,
)
from netcds.sequencing.option_history import courses_of, lines_giving, same_class_lines
from netcds.sequencing.practical import REGIMEN_FACTS, regimen_facts
from netcds.sequencing.rulefacts import SEQ_FACTS

NOT_RECORDED = ("treatments",)
VARIANT_FACT = "opt.progressed_on_variant"
SSA_REGIMENS = frozenset({"ssa", "ssa_above_label"})
SSA_MEMBER_AGENTS = frozenset({"octreotide_lar", "lanreotide", "ssa", "ssa_above_label"})
LOCAL_ONLY_AGENTS = frozenset({"radiotherapy"})  # a line of these alone is not systemic therapy
# the option facts read from the treatment history (unknown, naming `treatments`, when it is not recorded)
HISTORY_FACTS = tuple(
    n for n in SEQ_FACTS if n.startswith("opt.") and n not in REGIMEN_FACTS and n != COMORBIDITY_FACT
)


def _lines_words(lines: list[LineOfTherapy]) -> str:
    return "; ".join(f"line {ln.line} {ln.label}" for ln in lines)


def _line_named(ln: LineOfTherapy) -> str:
    """'line 2 FOLFIRINOX (fluorouracil, leucovorin, irinotecan, oxaliplatin; 2024-01-10 to 2024-07-10)'."""
    label = ln.label.lower()
    agents = [agent_name(a) for a in ln.agents]
    named = "" if all(a.lower() in label for a in agents) else ", ".join(agents) + "; "
    return f"line {ln.line} {ln.label} ({named}{ln.start or 'start not recorded'} to {ln.end or 'ongoing'})"


def _progression_words(ln: LineOfTherapy, how: str) -> str:
    """How the disease progressed on or after one line, in words, with the line named."""
    if PROGRESSING_NOW in ln.notes:
        what = "progressing now (status progressive while ongoing, progression assessed after it began)"
    elif ln.progression_date is not None:
        after = ln.end is not None and ln.progression_date > ln.end
        what = f"progression on {ln.progression_date}" + (" (after the course ended)" if after else "")
    else:
        what = "progression recorded"
    d = ln.durability
    if d.to_progression and d.months is not None:
        what += f", {d.months:g} months from its start"
    return f"{_line_named(ln)}: {what}" + (f" ({how})" if how else "")


def _progression(given: list[tuple[LineOfTherapy, str]], none: str, then: str = "") -> Derived:
    """Whether the disease progressed on any of these lines, three-valued (unknown when one has no
    progression recorded either way and none progressed, naming its fields), the lines in words."""
    after = [ln for ln, _ in given if ln.progressed and line_stopped_before_progression(ln)]
    hits = [_progression_words(ln, how) for ln, how in given if _progressed_on(ln)]
    if hits:
        return Derived(True, "; ".join(hits) + then)
    unknown = [ln for ln, _ in given if ln.progressed is None]
    if unknown:
        missing = tuple(
            f"treatments[{m.index}].progressed" for ln in unknown for m in ln.members if m.role == "line"
        )
        return Derived(
            None, "progression not recorded for " + "; ".join(_line_named(ln) for ln in unknown), missing
        )
    if after:  # progression after a line stopped for another reason is not progression on it
        return Derived(False, none + "; " + "; ".join(_stopped_first_words(ln) for ln in after))
    return Derived(False, none)


def _progressed_on(ln: LineOfTherapy) -> bool:
    """Progression recorded on the line, not only after it was stopped for another reason."""
    return bool(ln.progressed) and not line_stopped_before_progression(ln)


def _stopped_first_words(ln: LineOfTherapy) -> str:
    return (
        f"{_line_named(ln)}: stopped for {str(ln.stop_reason).replace('_', ' ')} on {ln.end}, progression on "
        f"{ln.progression_date} ({_months_off_treatment(ln):g} months later), after it, not on it"
    )


def _months_off_treatment(ln: LineOfTherapy) -> float | None:
    """Months from the end of a finished line to a progression recorded after it, else None."""
    if PROGRESSING_NOW in ln.notes or ln.end is None or ln.progression_date is None:
        return None
    return months(ln.end, ln.progression_date) if ln.progression_date > ln.end else None


def _after_durable_course(ln: LineOfTherapy, durable_months: float) -> bool:
    """The disease progressed only after the line had ended, and at least the durable-control
    convention after its end (e.g. a finished PRRT course; the months are counted from the last
    treatment, not from the start, so a long course does not count as control off treatment)."""
    off = _months_off_treatment(ln)
    return off is not None and off >= durable_months


def _off_treatment_words(ln: LineOfTherapy) -> str:
    return f"{_line_named(ln)}: progression {_months_off_treatment(ln):g} months after it ended"


def _without_durable_control(
    progressed: Derived, given: list[tuple[LineOfTherapy, str]], limit: float
) -> Derived:
    """``opt.progressed_without_durable_control``: progression on the regimen counted against it,
    i.e. any progression but one that came after a finished course of durable control (unknown
    and false exactly as ``opt.progressed_on``)."""
    if progressed.value is not True:
        return progressed
    hits = [(ln, how) for ln, how in given if _progressed_on(ln)]
    against = [_progression_words(ln, how) for ln, how in hits if not _after_durable_course(ln, limit)]
    if against:
        return Derived(True, "; ".join(against))
    return Derived(
        False,
        "; ".join(_off_treatment_words(ln) for ln, _ in hits)
        + f" ({limit:g} months or more, netcds convention)",
    )


def _variant_lines(
    regimen: str,
    given: list[tuple[LineOfTherapy, str]],
    lines: list[LineOfTherapy],
    data: SequencingData,
    table: str | None,
) -> dict[int, LineOfTherapy]:
    """The lines of the regimens this table offers as one choice with this one (not its own lines)."""
    others, _, _ = data.variants_of(regimen, table)
    own = {ln.line for ln, _ in given}
    return {ln.line: ln for o in others for ln in courses_of(o, lines) if ln.line not in own}


def _progressed_on_variant(
    regimen: str,
    given: list[tuple[LineOfTherapy, str]],
    lines: list[LineOfTherapy],
    data: SequencingData,
    table: str | None,
) -> Derived:
    """``opt.progressed_on_variant``: progression on a regimen this table offers as one choice with this
    one (cisplatin/etoposide for carboplatin/etoposide), not on this regimen itself (``given``); the
    words say how this table lists them."""
    others, says, _ = data.variants_of(regimen, table)
    if not others:
        return Derived(False, "this table offers no regimen as one choice with it")
    by_line = _variant_lines(regimen, given, lines, data, table)
    words = ", ".join(agent_name(o) for o in others)
    return _progression(
        [(by_line[n], "") for n in sorted(by_line)], "no progression recorded on " + words, f" ({says})"
    )


def _above_label_course_words(patient: Patient, lines: list[LineOfTherapy]) -> str:
    """The above-label SSA courses the disease progressed on, each with its lines and progression."""
    out: list[str] = []
    seen: set[int] = set()
    for ln in lines:
        for m in ln.members:
            if m.ssa_dose_level != "above_label" or m.index in seen:
                continue
            seen.add(m.index)
            now = m.progressed is None and m.end is None and progression_assessed_after(patient, m.start)
            if not (m.progressed or now):
                continue
            where = ", then ".join(
                f"line {x.line}" if k.role == "line" else f"backbone of line {x.line} {x.label}"
                for x in lines
                for k in x.members
                if k.index == m.index
            )
            name = "octreotide LAR or lanreotide" if m.agent == "ssa_above_label" else agent_name(m.agent)
            dose = f" {m.dose_mg:g} mg" if m.dose_mg else ""
            every = f" every {m.interval_days:g} days" if m.interval_days else ""
            what = (
                "progressing now (status progressive while ongoing, progression assessed after it began)"
                if now
                else f"progression on {m.progression_date}"
                if m.progression_date
                else "progression recorded"
            )
            kind = f" ({m.progression_type})" if m.progression_type else ""
            out.append(
                f"{name}{dose}{every} (above-label dose; {m.start or 'start not recorded'} to "
                f"{m.end or 'ongoing'}; {where}): {what}{kind}"
            )
    return "; ".join(out)


def _progressed_on_above_label_ssa(patient: Patient, lines: list[LineOfTherapy]) -> Derived:
    """``seq.progressed_on_above_label_ssa``: the disease progressed on octreotide LAR or lanreotide at
    an above-label dose (footnote h), read as the history summary reads it (``netcds.facts``), so a
    progressed SSA course whose dose or interval is missing leaves it unknown, naming those fields.
    A course given as backbone of another line counts: the disease progressed while it was given."""
    d = progressed_on(patient, SSA_AGENTS, "above-label octreotide LAR/lanreotide", level="above_label")
    if d.value is not True:
        return d
    return Derived(True, _above_label_course_words(patient, lines) or d.why)


def _start_fields(lns: list[LineOfTherapy]) -> tuple[str, ...]:
    return tuple(f"treatments[{m.index}].start" for ln in lns for m in ln.members if m.role == "line")


def _latest_progression_on_ssa(lines: list[LineOfTherapy]) -> Derived:
    """``seq.latest_progression_on_ssa``: the disease progressed on an SSA line (octreotide LAR or
    lanreotide on its own) and no other systemic line is recorded after it, so the progression the
    record describes now is the one on the SSA. Unknown (naming the fields) when an SSA line's
    progression or the order of the lines is not recorded; radiotherapy alone is not a systemic line."""
    ssa = [ln for ln in lines if ln.regimen in SSA_REGIMENS]
    progressed = [ln for ln in ssa if ln.progressed]
    if not progressed:
        unknown = [ln for ln in ssa if ln.progressed is None]
        if unknown:
            missing = tuple(
                f"treatments[{m.index}].progressed" for ln in unknown for m in ln.members if m.role == "line"
            )
            return Derived(
                None, "progression not recorded for " + "; ".join(_line_named(ln) for ln in unknown), missing
            )
        return Derived(False, "no progression recorded on an SSA line")
    last = progressed[-1]
    systemic = [
        ln
        for ln in lines
        if ln.regimen not in SSA_REGIMENS and not (ln.agents and set(ln.agents) <= LOCAL_ONLY_AGENTS)
    ]
    later = [ln for ln in systemic if ln.line > last.line]
    dated_later = [ln for ln in later if ln.start is not None and last.start is not None]
    if dated_later:
        return Derived(
            False,
            "; ".join(_line_named(ln) for ln in dated_later) + f" came after {_line_named(last)}",
        )
    unsure = later + [
        ln for ln in systemic if ln.line < last.line and (ln.start is None or last.start is None)
    ]
    if unsure:
        return Derived(
            None,
            "the order of " + "; ".join(_line_named(ln) for ln in [*unsure, last]) + " is not recorded",
            tuple(dict.fromkeys(_start_fields([ln for ln in [*unsure, last] if ln.start is None]))),
        )
    return Derived(True, f"{_line_named(last)}: progressed; no other systemic line recorded after it")


def _ssa_stopped_for_toxicity(lines: list[LineOfTherapy]) -> Derived:
    """``seq.ssa_stopped_for_toxicity``: an octreotide LAR or lanreotide course (a line of its own or the
    backbone of another) stopped for toxicity; unknown (naming the field) when a finished course has no
    stop reason recorded and none was stopped for toxicity."""
    seen: dict[int, tuple[LineMember, str]] = {}
    for ln in lines:
        for m in ln.members:
            if m.agent in SSA_MEMBER_AGENTS and m.index not in seen:
                seen[m.index] = (m, f"line {ln.line}" if m.role == "line" else f"backbone of line {ln.line}")
    courses = [seen[i][0] for i in sorted(seen)]

    def named(m: LineMember) -> str:
        name = "octreotide LAR or lanreotide" if m.agent in SSA_REGIMENS else agent_name(m.agent)
        return f"{name} ({seen[m.index][1]}, {m.start or 'start not recorded'} to {m.end or 'ongoing'})"

    tox = [m for m in courses if m.stop_reason == "toxicity"]
    if tox:
        return Derived(True, "; ".join(named(m) for m in tox) + " stopped for toxicity")
    unknown = [m for m in courses if m.end is not None and m.stop_reason is None]
    if unknown:
        return Derived(
            None,
            "why " + "; ".join(named(m) for m in unknown) + " stopped is not recorded",
            tuple(f"{m.field}.stop_reason" for m in unknown),
        )
    return Derived(False, "no octreotide LAR or lanreotide course stopped for toxicity")


def _prior_prrt_words(prrt: list[LineOfTherapy], summary: HistorySummary) -> str:
    """The PRRT lines, with the administrations estimated from the dates where the record allows."""
    words = "; ".join(_line_named(ln) for ln in prrt)
    for e in summary.cumulative_exposures:
        if e.agent == "lu177_dotatate" and e.estimated_administrations is not None:
            n = e.estimated_administrations
            words += (
                f"; about {n} administration{'' if n == 1 else 's'} in all "
                "(estimated from the dates and interval_days)"
            )
    return words


def seq_facts(
    lines: list[LineOfTherapy], summary: HistorySummary, pace: ProgressionPace, patient: Patient
) -> dict[str, Derived]:
    """Patient-level sequencing facts (``seq.*``), each with its reason in words."""
    out = {"seq.pace": Derived(pace.value, pace.rule, tuple(pace.missing))}
    if not summary.recorded:
        why = "treatments not recorded"
        for name in (
            "seq.line_count",
            "seq.progressed_on_above_label_ssa",
            "seq.prior_myelosuppressive",
            "seq.prior_myelosuppressive_chemotherapy",
            "seq.prior_prrt",
            "seq.prior_tki",
            "seq.progressed_on_prrt",
            "seq.last_progression_type",
            "seq.latest_progression_on_ssa",
            "seq.ssa_stopped_for_toxicity",
        ):
            out[name] = Derived(None, why, NOT_RECORDED)
        return out
    chemo = [ln for ln in lines if {"alkylating_agent", "platinum"} & set(ln.classes)]
    myelo = [ln for ln in lines if ln.myelosuppressive]
    prrt = [ln for ln in lines if "lu177_dotatate" in ln.agents]
    tki = [ln for ln in lines if ln.tki]
    none = "none in the recorded history"
    out["seq.line_count"] = Derived(len(lines), f"{len(lines)} line(s) of therapy recorded")
    out["seq.prior_myelosuppressive"] = Derived(bool(myelo), _lines_words(myelo) or none)
    out["seq.prior_myelosuppressive_chemotherapy"] = Derived(bool(chemo), _lines_words(chemo) or none)
    out["seq.prior_prrt"] = Derived(bool(prrt), _prior_prrt_words(prrt, summary) if prrt else none)
    out["seq.prior_tki"] = Derived(bool(tki), _lines_words(tki) or none)
    prog = any3([ln.progressed for ln in prrt]) if prrt else False
    missing = tuple(
        f"treatments[{m.index}].progressed"
        for ln in prrt
        if ln.progressed is None
        for m in ln.members
        if m.role == "line"
    )
    words = (
        "; ".join(
            f"line {ln.line} {ln.label}: "
            + (
                "progressed"
                if ln.progressed
                else "no progression"
                if ln.progressed is False
                else "progression not recorded"
            )
            for ln in prrt
        )
        or "no PRRT recorded"
    )
    out["seq.progressed_on_prrt"] = Derived(prog, words, missing if prog is None else ())
    out["seq.progressed_on_above_label_ssa"] = _progressed_on_above_label_ssa(patient, lines)
    out["seq.latest_progression_on_ssa"] = _latest_progression_on_ssa(lines)
    out["seq.ssa_stopped_for_toxicity"] = _ssa_stopped_for_toxicity(lines)
    lp = summary.last_progression
    need: tuple[str, ...] = ()
    if lp is not None and summary.last_progression_type is None:
        need = tuple(
            f"treatments[{m.index}].progression_type"
            for ln in lines
            if ln.line == lp.line
            for m in ln.members
            if m.role == "line"
        )
    out["seq.last_progression_type"] = Derived(
        summary.last_progression_type, lp.detail if lp else "no progression recorded", need
    )
    return out


def option_facts(
    option: Option, facts: Facts, lines: list[LineOfTherapy], data: SequencingData, table: str | None = None
) -> dict[str, Derived]:
    """Option-level facts (``opt.*``): this regimen held against the history and the preferences, in
    the option's table (``table``: how that table groups variant regimens), and the recorded
    comorbidities behind the option's safety items (``option.safety``, set by the engine's screen)."""
    reg = option.regimen
    out = regimen_facts(option, facts, data)
    out[COMORBIDITY_FACT] = comorbidity_fact(option, table, facts, data)
    if facts.patient.treatments is None:
        for name in HISTORY_FACTS:
            out[name] = Derived(None, "treatments not recorded", NOT_RECORDED)
        return out
    c = data.conventions
    mine = courses_of(reg, lines)
    related = same_class_lines(reg, lines, data)
    given = lines_giving(reg, lines, data)
    out["opt.received"] = Derived(bool(given), _lines_words([ln for ln, _ in given]) or "not received before")
    out["opt.progressed_on"] = _progression(
        given, "no progression recorded on it" if given else "not received before"
    )
    out["opt.progressed_without_durable_control"] = _without_durable_control(
        out["opt.progressed_on"], given, c.durable_control_months
    )
    out["opt.progressed_on_variant"] = _progressed_on_variant(reg, given, lines, data, table)
    tox = [ln for ln in mine if "toxicity" in ln.stop_reasons]
    out["opt.stopped_for_toxicity"] = Derived(
        bool(tox), _lines_words(tox) + " stopped for toxicity" if tox else "not stopped for toxicity"
    )

    def short(ln: LineOfTherapy) -> bool:
        d = ln.durability
        return bool(d.to_progression) and d.months is not None and d.months < c.short_durability_months

    def dur_words(lns: list[LineOfTherapy]) -> str:
        return "; ".join(
            f"line {ln.line} {ln.label}: {ln.durability.months:g} months ({ln.durability.basis})"
            for ln in lns
            if ln.durability.months is not None
        )

    # a line whose progression the progressed-on rules already state (on this regimen, or on a regimen
    # the table offers as one choice with it) is not counted a second time as a short benefit
    stated = {
        ln.line
        for ln, _ in given
        if _progressed_on(ln) and not _after_durable_course(ln, c.durable_control_months)
    }
    stated |= {n for n, ln in _variant_lines(reg, given, lines, data, table).items() if _progressed_on(ln)}

    def short_fact(cands: list[LineOfTherapy], none: str) -> Derived:
        hits = [ln for ln in cands if short(ln) and ln.line not in stated]
        if hits:
            return Derived(
                True, dur_words(hits) + f" (< {c.short_durability_months:g} months, netcds convention)"
            )
        already = [ln for ln in cands if short(ln)]
        if already:
            return Derived(False, dur_words(already) + ": already stated as progression on it or its variant")
        return Derived(False, none)

    out["opt.short_durability"] = short_fact(mine, "no short benefit recorded")
    durable = [
        ln
        for ln in mine
        if ln.durability.months is not None
        and ln.durability.to_progression is not None
        and ln.durability.months >= c.durable_control_months
    ]
    out["opt.durable_control"] = Derived(
        bool(durable),
        (dur_words(durable) + f" (>= {c.durable_control_months:g} months, netcds convention)")
        if durable
        else "no durable control recorded",
    )
    comparable = [ln for ln, shared in related if any(data.classes[s].compare_durability for s in shared)]
    out["opt.same_class_short_durability"] = short_fact(comparable, "no short benefit from a same-class drug")
    cls_tox = [ln for ln, _ in related if "toxicity" in ln.stop_reasons]
    out["opt.same_class_stopped_for_toxicity"] = Derived(
        bool(cls_tox),
        _lines_words(cls_tox) + " stopped for toxicity"
        if cls_tox
        else "no same-class drug stopped for toxicity",
    )
    return out


def extend(facts: Facts, extra: dict[str, Derived]) -> Facts:
    values = dict(facts.values)
    values.update({k: d.value for k, d in extra.items()})
    return Facts(patient=facts.patient, values=values, derived={**facts.derived, **extra})


def considerations_for(
    option: Option, table: str | None, facts: Facts, data: SequencingData
) -> tuple[list[Consideration], list[str]]:
    """The option's considerations (rule order) and the fields that left rules undecided."""
    out: list[Consideration] = []
    undecided: list[str] = []
    for rule in lookups(data).rules_for(option.regimen, table):
        if option.status not in rule.statuses:
            continue
        value, missing = settle(rule.condition, facts)  # most are false or unknown: no reasons built
        if value is None:
            undecided += missing
            continue
        if value is not True:
            continue
        result = evaluate(rule.condition, facts)
        sources = [data.source(s) for s in rule.sources]
        read = facts_of(rule.condition)
        if COMORBIDITY_FACT in read:  # the safety items' own sources come first
            sources = [*item_sources(option, table, facts, data), *sources]
        info = data.regimens.get(option.regimen)
        if info is not None and read & REGIMEN_FACTS:  # the regimen facts' own sources
            sources += [src for s in info.sources if (src := data.source(s)) not in sources]
        if VARIANT_FACT in read:  # how this table lists the variants, cited per table
            cite = data.variants_of(option.regimen, table)[2]
            if cite is not None and (src := data.source(cite)) not in sources:
                sources.append(src)
        text = PLACEHOLDER.sub(lambda m: facts.why(m.group(1)) or "not recorded", " ".join(rule.text.split()))
        out.append(
            Consideration(
                rule_id=rule.id,
                factor=rule.factor,
                direction=rule.direction,
                text=text,
                basis=[f.text for f in result.positives],
                source=sources[0],
                additional_sources=sources[1:],
            )
        )
    return out, list(dict.fromkeys(undecided))
