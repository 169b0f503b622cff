"""Three-valued evaluation of conditions, explained.

``evaluate(cond, facts)`` returns an :class:`Outcome`: the value (True, False,
or None for unknown), the pertinent positives and negatives that decided it,
and, only when unknown, the fields whose value would settle it. Fields that
could not change the result (an unknown beside a decisive false in ``all``)
are not reported as missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netcds.facts import Facts, progressed_on, treatment_agents
from netcds.logic.ast import All, AnyOf, Compare, Condition, History, Not
from netcds.vocabulary import label

OP_WORDS = {"eq": "is", "ne": "is not", "gt": ">", "ge": "≥", "lt": "<", "le": "≤",
            "in": "is one of", "not_in": "is none of", "contains": "includes"}  # fmt: skip


@dataclass(frozen=True)
class Finding:
    """One fact judgement: what was asked, the answer, and the facts behind it."""

    says: str
    value: bool | None
    detail: str
    fields: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        word = {True: "yes", False: "no", None: "unknown"}[self.value]
        return f"{self.says}: {word} ({self.detail})" if self.detail else f"{self.says}: {word}"


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


def _auto_says(c: Condition) -> str:
    if isinstance(c, Compare):
        if c.op == "eq" and isinstance(c.value, bool):
            return label(c.fact) if c.value else f"no {label(c.fact)}"
        return f"{label(c.fact)} {OP_WORDS[c.op]} {show(c.value)}"
    if isinstance(c, History):
        names = " or ".join(n.replace("_", " ") for n in c.named)
        return f"prior {names}" if c.op == "received" else f"progression on {names}"
    kind = {All: "all of", AnyOf: "any of", Not: "not"}[type(c)]
    return f"{kind} the listed criteria"


def _compare(c: Compare, facts: Facts) -> Outcome:
    v = facts.get(c.fact)
    says = c.says or _auto_says(c)
    why = facts.why(c.fact)
    if v is None:
        detail = why or f"{label(c.fact)} not recorded"
        missing = list(facts.missing_for(c.fact))
        f = Finding(says, None, detail, tuple(missing))
        return Outcome(None, unknowns=[f], missing=missing)
    ops: dict[str, Callable[[], Any]] = {
        "eq": lambda: v == c.value,
        "ne": lambda: v != c.value,
        "gt": lambda: v > c.value,
        "ge": lambda: v >= c.value,
        "lt": lambda: v < c.value,
        "le": lambda: v <= c.value,
        "in": lambda: v in c.value,
        "not_in": lambda: v not in c.value,
        "contains": lambda: c.value in v,
    }
    result = bool(ops[c.op]())
    detail = why or f"{label(c.fact)} = {show(v)}"
    f = Finding(says, result, detail, (c.fact,))
    return Outcome(True, positives=[f]) if result else Outcome(False, negatives=[f])


def _history(c: History, facts: Facts) -> Outcome:
    p = facts.patient
    says = c.says or _auto_says(c)
    if c.op == "progressed_on":
        d = progressed_on(p, frozenset(c.agents), " or ".join(n.replace("_", " ") for n in c.named))
        value, detail, missing = d.value, d.why, list(d.missing)
    elif p.treatments is None:
        value, detail, missing = None, "treatment history not recorded", ["treatments"]
    else:
        hits = [t for t in p.treatments if set(c.agents) & set(treatment_agents(t))]
        value, missing = bool(hits), []
        detail = (
            "received " + "; ".join(f"{t.agent} from {t.start or 'unknown date'}" for t in hits)
            if hits
            else "none of them in the recorded history"
        )
    f = Finding(says, value, detail, tuple(missing) or ("treatments",))
    if value is None:
        return Outcome(None, unknowns=[f], missing=missing)
    return Outcome(True, positives=[f]) if value else Outcome(False, negatives=[f])


def _combine(c: All | AnyOf, facts: Facts) -> Outcome:
    kids = [evaluate(i, facts) for i in c.items]
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


def evaluate(c: Condition, facts: Facts) -> Outcome:
    """Evaluate ``c`` over ``facts`` with three-valued logic, keeping the reasons."""
    if isinstance(c, Compare):
        out = _compare(c, facts)
    elif isinstance(c, History):
        out = _history(c, facts)
    elif isinstance(c, All | AnyOf):
        out = _combine(c, facts)
    else:
        out = _negate(c, facts)
    if c.says and not isinstance(c, Compare | History):
        # a worded node speaks for its subtree: one finding naming the facts used
        details = "; ".join(f.text for f in out.findings()) if out.findings() else ""
        f = Finding(c.says, out.value, details, tuple(out.missing))
        return Outcome(
            out.value,
            positives=[f] if out.value is True else [],
            negatives=[f] if out.value is False else [],
            unknowns=[f] if out.value is None else [],
            missing=out.missing,
        )
    return out
