"""Evaluating a safety condition (:mod:`netcds.safety.conditions`) for one patient, three-valued.

:func:`evaluate` gives a :class:`Result`: the value (``None``: unknown), the :class:`Hit` facts that
decided it and, when unknown, the fields to record. Leaves of the project language are evaluated by
:func:`netcds.logic.evaluate` (memoised per patient in the :class:`Context`); medication, date and
ongoing-treatment leaves here, against the screened medication list (:class:`MedMatch`) and
``patient.as_of``, never the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from netcds.facts import Facts, treatment_agents
from netcds.field_labels import agent_name
from netcds.logic.ast import Compare, Condition
from netcds.logic.evaluate import evaluate as evaluate_leaf
from netcds.logic.evaluate import show
from netcds.patient import RECENT_SURGERY_DAYS
from netcds.safety.conditions import (
    DateLeaf,
    Leaf,
    MedLeaf,
    OngoingLeaf,
    SafetyCondition,
    SAny,
    SNot,
    fact_words,
)


@dataclass(frozen=True)
class MedMatch:
    """One recorded medication as screened: the generic it was recognised as, if any. A topical or local
    form of a listed drug (a shampoo, an eye drop) is not matched (``generic`` None) and names the drug in
    ``local``: it is not screened as a systemic interaction."""

    index: int
    raw: str
    generic: str | None
    classes: frozenset[str] = frozenset()
    local: str | None = None


@dataclass
class Context:
    facts: Facts
    meds: list[MedMatch] | None  # None: the medication list was not recorded
    as_of: date | None
    class_labels: dict[str, str] = field(default_factory=dict)
    unverified_meds: dict[str, dict[str, str]] = field(default_factory=dict)  # generic -> class -> note
    # results of fact leaves for this patient: monographs share many (pregnancy, renal, hepatic, ...)
    leaf_memo: dict[Condition, Result] = field(default_factory=dict)
    # True: a recorded name that was not screened makes a medication leaf without a match unknown (what a
    # dose rule would be if that name were one of the listed drugs); False: such a leaf is false and the
    # name is reported once as "not screened"
    unscreened_unknown: bool = False


@dataclass(frozen=True)
class Hit:
    """One judged fact: the words, its truth, and the patient fields it read."""

    text: str
    value: bool | None
    fields: tuple[str, ...]
    unverified: str | None = None  # set when the hit rests on an unconfirmed class membership
    # why a fact is unknown although recorded (a name not screened, a date on the wrong side of as_of):
    # a "not assessed" item says it beside the field
    note: bool = False


@dataclass
class Result:
    value: bool | None
    hits: list[Hit] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def evaluate(c: SafetyCondition, ctx: Context) -> Result:
    """Three-valued evaluation; ``hits`` are the facts that decided the value."""
    if isinstance(c, Leaf):
        hit = ctx.leaf_memo.get(c.cond)
        if hit is None:
            out = evaluate_leaf(c.cond, ctx.facts)
            found = {True: out.positives, False: out.negatives, None: out.unknowns}[out.value]
            # a known derived fact is named by the recorded fields that decided it (Derived.basis)
            hits = [
                Hit(
                    _detail(c.cond, ctx.facts) or f.detail or f.says,
                    f.value,
                    tuple(x for name in f.fields for x in ctx.facts.fields_of(name)),
                )
                for f in found
            ]
            hit = Result(out.value, hits, list(out.missing) if out.value is None else [])
            ctx.leaf_memo[c.cond] = hit
        return hit
    if isinstance(c, MedLeaf):
        return _medication(c, ctx)
    if isinstance(c, DateLeaf):
        return _date(c, ctx)
    if isinstance(c, OngoingLeaf):
        return _ongoing(c, ctx)
    if isinstance(c, SNot):
        inner = evaluate(c.item, ctx)
        flip = {True: False, False: True, None: None}[inner.value]
        return Result(flip, inner.hits, inner.missing)
    kids = [evaluate(i, ctx) for i in c.items]
    decisive = isinstance(c, SAny)  # any: a True decides; all: a False decides
    if any(k.value is decisive for k in kids):
        chosen = [k for k in kids if k.value is decisive]
        return Result(decisive, [h for k in chosen for h in k.hits])
    if any(k.value is None for k in kids):
        unknown = [k for k in kids if k.value is None]
        missing = list(dict.fromkeys(m for k in unknown for m in k.missing))
        return Result(None, [h for k in unknown for h in k.hits], missing)
    return Result(not decisive, [h for k in kids for h in k.hits])


def _detail(cond: Condition, facts: Facts) -> str | None:
    """'platelets (/µL) = 60000' for a raw fact; derived facts keep their own explanation."""
    if not isinstance(cond, Compare) or cond.fact.startswith("derived."):
        return None
    value = facts.get(cond.fact)
    return None if value is None else f"{fact_words(cond.fact)} = {show(value)}"


def _medication(c: MedLeaf, ctx: Context) -> Result:
    wanted = " or ".join([ctx.class_labels.get(k, k.replace("_", " ")) for k in c.classes] + list(c.names))
    if ctx.meds is None:
        return Result(
            None,
            [Hit(f"medication list not recorded (checking for {wanted})", None, ("medications",))],
            ["medications"],
        )
    hits: list[Hit] = []
    for m in ctx.meds:
        if m.generic is None:
            continue
        matched = sorted(m.classes.intersection(c.classes))
        if not matched and m.generic not in c.names:
            continue
        shown = (
            m.generic
            if m.raw.strip().lower() == m.generic
            else f"{m.generic} (recorded as '{m.raw.strip()}')"
        )
        why = ", ".join(ctx.class_labels.get(k, k) for k in matched) if matched else "named in the label"
        doubts = ctx.unverified_meds.get(m.generic, {})
        doubt = "; ".join(dict.fromkeys(doubts[k] for k in matched if k in doubts)) or None
        if doubt:
            why += " (class membership UNVERIFIED)"
        hits.append(Hit(f"{shown}: {why}", True, (f"medications[{m.index}]",), doubt))
    if hits:
        return Result(True, hits)
    unscreened = [m for m in ctx.meds if m.generic is None] if ctx.unscreened_unknown else []
    if unscreened:  # a name outside the lists may be one of them: unknown, never "none recorded"
        where = list(dict.fromkeys(f"medications[{m.index}]" for m in unscreened))
        names = ", ".join(dict.fromkeys(f"'{m.raw.strip()}'" for m in unscreened))
        text = f"{names} not screened"
        return Result(None, [Hit(text, None, tuple(where), note=True)], where)
    return Result(False, [Hit(f"no recorded medication is listed as {wanted}", False, ("medications",))])


#: A date fact and the yes/no fact that can say there is none: (flag, days back a "no" covers; None for a
#: planned date, where "no" covers every future day). See ``patient.RECENT_SURGERY_DAYS``.
NONE_FLAGS: dict[str, tuple[str, int | None]] = {
    "comorbidities.planned_surgery_date": ("comorbidities.surgery_planned", None),
    "comorbidities.planned_dental_procedure_date": ("comorbidities.dental_procedure_planned", None),
    "comorbidities.recent_major_surgery_date": ("comorbidities.recent_major_surgery", RECENT_SURGERY_DAYS),
}


def _flag_for(c: DateLeaf) -> str | None:
    """The flag whose "no" would settle ``c`` (its look-back covered), if any."""
    flag = NONE_FLAGS.get(c.fact)
    if flag is None:
        return None
    back = flag[1]
    covered = c.op != "within_past_days" if back is None else c.op == "within_past_days" and c.days <= back
    return flag[0] if covered else None


def none_recorded(c: DateLeaf, facts: Facts) -> str | None:
    """The flag path when the record says there is no such date for what ``c`` looks at, else None."""
    flag = _flag_for(c)
    if flag is None or facts.get(c.fact) is not None or facts.get(flag) is not False:
        return None
    return flag


def _date(c: DateLeaf, ctx: Context) -> Result:
    value = ctx.facts.get(c.fact)
    flag = _flag_for(c) if value is None else None
    said = ctx.facts.get(flag) if flag is not None else None
    if flag is not None and said is False:  # the record says there is none (none_recorded)
        return Result(False, [Hit(f"no {fact_words(flag)} (recorded)", False, (flag,))])
    either = [flag] if flag is not None and said is None else []  # "none" would settle it too
    missing = ([c.fact, *either] if value is None else []) + (["as_of"] if ctx.as_of is None else [])
    name = fact_words(c.fact)
    if missing or ctx.as_of is None or not isinstance(value, date):
        why = " and ".join(f"{m} not recorded" for m in missing)
        return Result(None, [Hit(f"{name}: {why}", None, tuple(missing))], missing)
    delta = (value - ctx.as_of).days
    rel = f"{delta} days after" if delta >= 0 else f"{-delta} days before"
    text = f"{name} {value.isoformat()} is {rel} as_of {ctx.as_of.isoformat()}"
    planned = c.op != "within_past_days"
    if (planned and delta < 0) or (not planned and delta > 0):  # a planned date past, a recent one ahead
        wrong = "a planned date already past" if planned else "a past date after as_of"
        return Result(None, [Hit(f"{text}: {wrong}", None, (c.fact, "as_of"), note=True)], [c.fact])
    if c.op == "within_next_days":
        ok = 0 <= delta <= c.days
    elif c.op == "beyond_next_days":
        ok = delta > c.days
    else:
        ok = delta <= 0 and -delta < c.days
    return Result(ok, [Hit(text, ok, (c.fact, "as_of"))])


def _ongoing(c: OngoingLeaf, ctx: Context) -> Result:
    wanted = " or ".join(agent_name(a) for a in c.agents)
    p = ctx.facts.patient
    if p.treatments is None:
        text = f"treatment history not recorded (checking for an ongoing {wanted} course)"
        return Result(None, [Hit(text, None, ("treatments",))], ["treatments"])
    hits: list[Hit] = []
    unknown: list[Hit] = []
    for i, t in enumerate(p.treatments):
        named = [a for a in treatment_agents(t) if a in c.agents]
        if not named:
            continue
        where = f"treatments[{i}]"
        since = f" since {t.start.isoformat()}" if t.start else ""
        if t.end is None:
            hits.append(Hit(f"{where}: {agent_name(named[0])}{since}, no end recorded (ongoing)", True,
                            (f"{where}.end",)))  # fmt: skip
        elif c.ended_within_days is not None:
            if ctx.as_of is None:
                unknown.append(Hit(f"{where}: {agent_name(named[0])} ended {t.end.isoformat()}; as_of not "
                                   "recorded", None, (f"{where}.end", "as_of")))  # fmt: skip
                continue
            days = (ctx.as_of - t.end).days
            if 0 <= days < c.ended_within_days:
                text = f"{where}: {agent_name(named[0])} ended {t.end.isoformat()}, {days} days before as_of"
                hits.append(Hit(text, True, (f"{where}.end", "as_of")))
    if hits:
        return Result(True, hits)
    if unknown:
        return Result(None, unknown, ["as_of"])
    recent = f" or ended in the last {c.ended_within_days} days" if c.ended_within_days else ""
    return Result(False, [Hit(f"no {wanted} course recorded as ongoing{recent}", False, ("treatments",))])
