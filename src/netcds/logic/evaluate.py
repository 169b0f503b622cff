"""Three-valued evaluation of conditions, explained.

``evaluate(cond, facts)`` returns an :class:`Outcome`: the value (True, False,
or None for unknown), the pertinent positives and negatives that decided it,
and, only when unknown, the fields whose value would settle it. Fields that
could not change the result (an unknown beside a decisive false in ``all``)
are not reported as missing.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from netcds.facts import Facts, progressed_on, treatment_agents
from netcds.field_labels import agent_name
from netcds.logic.ast import All, AnyOf, Compare, Condition, History, Not, facts_read
from netcds.vocabulary import label

OP_WORDS = {"eq": "is", "ne": "is not", "gt": ">", "ge": "≥", "lt": "<", "le": "≤",
            "in": "is one of", "not_in": "is none of", "contains": "includes"}  # fmt: skip


class Finding:
    """One fact judgement: what was asked, the answer, and the facts behind it.

    The wording (``detail``, ``text``) is built only when read: most findings of the
    tables a patient does not fall into are never shown.
    """

    __slots__ = ("_detail", "children", "fact", "fields", "raw", "says", "value", "why")

    def __init__(
        self,
        says: str,
        value: bool | None,
        detail: str | None = None,
        fields: tuple[str, ...] = (),
        *,
        fact: str | None = None,
        raw: Any = None,
        children: list[Finding] | None = None,
    ) -> None:
        self.says = says
        self.value = value
        self._detail = detail
        self.fields = fields
        self.fact = fact
        self.raw = raw
        self.children = children

    @property
    def detail(self) -> str:
        if self._detail is None:
            if self.children is not None:
                self._detail = "; ".join(f.text for f in self.children)
            elif self.fact is not None:
                name = label(self.fact)
                self._detail = f"{name} not recorded" if self.raw is None else f"{name} = {show(self.raw)}"
            else:
                self._detail = ""
        return self._detail

    @property
    def text(self) -> str:
        word = {True: "yes", False: "no", None: "unknown"}[self.value]
        detail = self.detail
        return f"{self.says}: {word} ({detail})" if detail else f"{self.says}: {word}"

    def __repr__(self) -> str:
        return f"Finding({self.text!r})"


@dataclass
class Outcome:
    value: bool | None
    positives: list[Finding] = field(default_factory=list)
    negatives: list[Finding] = field(default_factory=list)
    unknowns: list[Finding] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def findings(self) -> list[Finding]:
        return [*self.positives, *self.negatives, *self.unknowns]


def show(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, list | tuple):
        return ", ".join(show(x) for x in v) or "none"
    return str(v).replace("_", " ")


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
    "in": lambda v, allowed: v in allowed,
    "not_in": lambda v, allowed: v not in allowed,
    "contains": lambda v, item: item in v,
}


def says_of(c: Condition) -> str:
    """The clinician wording of a condition: its `says`, else words generated from it."""
    return c.says or _auto_says(c)


@cache
def _auto_says(c: Condition) -> str:
    if isinstance(c, Compare):
        if c.op == "eq" and isinstance(c.value, bool):
            return label(c.fact) if c.value else f"no {label(c.fact)}"
        return f"{label(c.fact)} {OP_WORDS[c.op]} {show(c.value)}"
    if isinstance(c, History):
        names = " or ".join(agent_name(n) for n in c.named)
        return f"prior {names}" if c.op == "received" else f"progression on {names}"
    kind = {All: "all of", AnyOf: "any of", Not: "not"}[type(c)]
    return f"{kind} the listed criteria"


def compare_value(c: Compare, v: Any) -> bool:
    """The comparison of a recorded (not None) value."""
    return bool(_OPS[c.op](v, c.value))


# the comparisons an unknown fact known to lie among values (Derived.among) can decide
AMONG_OPS = frozenset({"eq", "ne", "in", "not_in"})


def among_value(c: Compare, among: tuple[Any, ...]) -> bool | None:
    """``c`` over a fact that is unknown but lies among ``among``: its answer when it is the same for
    each of them (a lung carcinoid of < 2 mitoses/2 mm², necrosis unrecorded, is typical or atypical:
    one of the two either way), else None (unknown)."""
    if not among or c.op not in AMONG_OPS:
        return None
    answers = {compare_value(c, x) for x in among}
    return answers.pop() if len(answers) == 1 else None


def _compare(c: Compare, facts: Facts) -> Outcome:
    v = facts.get(c.fact)
    says = says_of(c)
    why = facts.why(c.fact)
    if v is None and (decided := among_value(c, facts.among(c.fact))) is not None:
        f = Finding(says, decided, why, (c.fact,), fact=c.fact)
        return Outcome(True, positives=[f]) if decided else Outcome(False, negatives=[f])
    if v is None:
        missing = list(facts.missing_for(c.fact))
        f = Finding(says, None, why, tuple(missing), fact=c.fact)
        return Outcome(None, unknowns=[f], missing=missing)
    result = compare_value(c, v)
    f = Finding(says, result, why, (c.fact,), fact=c.fact, raw=v)
    return Outcome(True, positives=[f]) if result else Outcome(False, negatives=[f])


def _history(c: History, facts: Facts) -> Outcome:
    p = facts.patient
    says = says_of(c)
    if c.op == "progressed_on":
        d = progressed_on(p, frozenset(c.agents), " or ".join(agent_name(n) for n in c.named))
        value, detail, missing = d.value, d.why, list(d.missing)
    elif p.treatments is None:
        value, detail, missing = None, "treatment history not recorded", ["treatments"]
    else:
        hits = [t for t in p.treatments if set(c.agents) & set(treatment_agents(t))]
        value, missing = bool(hits), []
        detail = (
            "received " + "; ".join(f"{agent_name(t.agent)} from {t.start or 'unknown date'}" for t in hits)
            if hits
            else "none of them in the recorded history"
        )
    f = Finding(says, value, detail, tuple(missing) or ("treatments",))
    if value is None:
        return Outcome(None, unknowns=[f], missing=missing)
    return Outcome(True, positives=[f]) if value else Outcome(False, negatives=[f])


def _combine(c: All | AnyOf, facts: Facts) -> Outcome:
    return _merge(c, [evaluate(i, facts) for i in c.items])


def _merge(c: All | AnyOf, kids: list[Outcome]) -> Outcome:
    decisive = not isinstance(c, All)  # False decides an 'all', True decides an 'any'
    out = Outcome(None)
    if any(k.value is decisive for k in kids):
        out.value = decisive
    elif any(k.value is None for k in kids):
        out.value = None
    else:
        out.value = not decisive
    for k in kids:
        out.positives += k.positives
        out.negatives += k.negatives
        if out.value is None:
            out.unknowns += k.unknowns
            out.missing += k.missing
    out.missing = list(dict.fromkeys(out.missing))
    return out


def _negate(c: Not, facts: Facts) -> Outcome:
    """Findings keep their own truth; what supported the inner result now argues against it."""
    inner = evaluate(c.item, facts)
    flip = {True: False, False: True, None: None}
    return Outcome(
        flip[inner.value],
        positives=list(inner.negatives),
        negatives=list(inner.positives),
        unknowns=inner.unknowns,
        missing=inner.missing,
    )


# -- trials over the values an unknown fact lies among ------------------------------------------------
# A fact unknown but known to lie among a few values (Derived.among: a lung carcinoid of < 2 mitoses/
# 2 mm², necrosis unrecorded, is typical or atypical) decides an unknown ``all`` / ``any`` that reads it
# when the node comes out the same, known, for each of them: its value then holds whichever it is, and
# waits for nothing. Several such facts are tried in every combination (the subtype and the grade of
# such a tumor: typical or atypical, G1 or G2); the other facts stay as they are. A combination the
# record rules out (typical with G2) can only add a trial that disagrees, never decide a node the
# possible ones leave open, so trying it is safe (a node telling G1 from G2 together with the subtype
# stays unknown, where it could be decided: no guideline condition does). Kleene logic is monotone (a
# known node stays known, with the same value, whatever an unknown fact turns out to be), so only an
# unknown node is tried, and only one that reads such a fact (most patients have none: one dictionary
# test).


def _trials(c: All | AnyOf, facts: Facts) -> list[tuple[dict[str, Any], Facts]]:
    """One (values tried, facts with them) per combination of the values of the facts of
    ``Facts.unknown_among`` that ``c`` reads; none when it reads none of them."""
    among = facts.unknown_among()
    if not among:
        return []
    read = [name for name in among if name in facts_read(c)]
    if not read:
        return []
    combos = itertools.product(*(among[name] for name in read))
    tried = [dict(zip(read, combo, strict=True)) for combo in combos]
    return [(values, facts.trying(values)) for values in tried]


def _settled_by_trials(c: All | AnyOf, facts: Facts) -> bool | None:
    """``c``'s value when each trial (:func:`_trials`) gives the same known value, else None."""
    found: bool | None = None
    for _, tried in _trials(c, facts):
        value, _ = settle(c, tried)
        if value is None or (found is not None and value != found):
            return None
        found = value
    return found


def _without(names: frozenset[str], found: list[Finding]) -> list[Finding]:
    """``found`` without the findings on the facts ``names`` (a trial's value of them is not the
    patient's), also inside a worded node's finding."""
    out = []
    for f in found:
        if f.fact in names:
            continue
        if f.children is not None:
            f = Finding(f.says, f.value, None, f.fields, children=_without(names, f.children))
        out.append(f)
    return out


def _decided_by_trials(c: All | AnyOf, facts: Facts) -> Outcome | None:
    """An unknown ``c`` decided by trying each value its among-facts lie among (the same known value
    each time), with its reasons: each such fact with the values it lies among and why (grading.py:
    "typical or atypical carcinoid either way"), then, for each trial, what decided it under an "if"
    (never a finding that the fact has the value tried). None when a trial disagrees or is unknown."""
    trials = _trials(c, facts)
    if not trials:
        return None
    outs: list[tuple[dict[str, Any], bool, list[Finding]]] = []
    for tried, tried_facts in trials:
        kids = [evaluate(i, tried_facts) for i in c.items]
        value = _merge(c, kids).value
        if value is None or (outs and value != outs[0][1]):
            return None
        # what decided this trial: the children that came out as the node did
        decided = [f for k in kids if k.value is value for f in (k.positives if value else k.negatives)]
        outs.append((tried, value, decided))
    value = outs[0][1]
    names = frozenset(outs[0][0])
    either = [
        Finding(says_of(Compare(n, "in", facts.among(n))), True, facts.why(n), (n,), fact=n)
        for n in outs[0][0]
    ]
    cases = [
        Finding(
            "if " + " and ".join(f"{label(n)} is {show(v)}" for n, v in tried.items()),
            value,
            None,
            children=_without(names, decided),
        )
        for tried, _, decided in outs
    ]
    return Outcome(value, positives=either + cases) if value else Outcome(value, negatives=either + cases)


def settle(c: Condition, facts: Facts) -> tuple[bool | None, list[str]]:
    """``evaluate(c, facts)``'s value and missing fields, without its findings.

    For callers that read a condition's reasons only when it is true (most consideration rules of
    an option are false or unknown): no finding, wording or outcome is built. The missing fields are
    those ``evaluate`` reports (only an unknown result has any); the value is the same, found with
    the first decisive item of an ``all`` / ``any`` (the conditions have no side effects).
    """
    if isinstance(c, Compare):
        v = facts.values.get(c.fact)
        if v is None:
            decided = among_value(c, facts.among(c.fact))
            if decided is not None:
                return decided, []
            return None, list(facts.missing_for(c.fact))
        return bool(_OPS[c.op](v, c.value)), []
    if isinstance(c, All | AnyOf):
        decisive = not isinstance(c, All)
        missing: list[str] | None = None
        for item in c.items:
            value, item_missing = settle(item, facts)
            if value is decisive:
                return decisive, []
            if value is None:
                missing = item_missing if missing is None else missing + item_missing
        if missing is None:
            return not decisive, []
        tried = _settled_by_trials(c, facts)
        return (tried, []) if tried is not None else (None, list(dict.fromkeys(missing)))
    if isinstance(c, Not):
        value, missing = settle(c.item, facts)
        return (None if value is None else not value), missing
    p = facts.patient
    if c.op == "progressed_on":
        d = progressed_on(p, frozenset(c.agents), " or ".join(agent_name(n) for n in c.named))
        return d.value, (list(d.missing) if d.value is None else [])
    if p.treatments is None:
        return None, ["treatments"]
    return any(set(c.agents) & set(treatment_agents(t)) for t in p.treatments), []


def evaluate(c: Condition, facts: Facts) -> Outcome:
    """Evaluate ``c`` over ``facts`` with three-valued logic, keeping the reasons."""
    if isinstance(c, Compare):
        out = _compare(c, facts)
    elif isinstance(c, History):
        out = _history(c, facts)
    elif isinstance(c, All | AnyOf):
        out = _combine(c, facts)
        if out.value is None:
            out = _decided_by_trials(c, facts) or out
    else:
        out = _negate(c, facts)
    if c.says and not isinstance(c, Compare | History):
        # a worded node speaks for its subtree: one finding naming the facts used
        f = Finding(c.says, out.value, None, tuple(out.missing), children=out.findings())
        return Outcome(
            out.value,
            positives=[f] if out.value is True else [],
            negatives=[f] if out.value is False else [],
            unknowns=[f] if out.value is None else [],
            missing=out.missing,
        )
    return out
