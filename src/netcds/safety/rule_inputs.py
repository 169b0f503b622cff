"""What a monograph's rule results can depend on for one patient, as a hashable key.

Judging a monograph (:func:`netcds.safety.screen.judge`) evaluates every rule condition with its
reasons; patients with the same key get the same result for every rule wherever a result is read, so
the judgement is shared across patients (``AgentKnowledge.judgements``). A false rule is never read
past its value (it adds no item and its facts are not shown), and a false fact reaches a rule's
reasons only through a ``not``. So each fact the conditions compare contributes:

- its truth, when it is false and not under any ``not`` (the value itself cannot be shown);
- its truth and its value (and a derived fact's explanation), when it is true or under a ``not``;
- the fields that would settle it (and the explanation), when it is unknown.

Medication, date and treatment-history leaves (``ongoing`` too) contribute everything they read. The
property test in ``tests/safety/test_screen_memo.py`` checks shared judgements against judging afresh.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netcds.logic.ast import Compare
from netcds.logic.evaluate import compare_value
from netcds.safety.condition_eval import NONE_FLAGS, Context
from netcds.safety.condition_eval import evaluate as evaluate_condition
from netcds.safety.conditions import (
    DateLeaf,
    Leaf,
    MedLeaf,
    OngoingLeaf,
    SafetyCondition,
    SAll,
    SAny,
    SNot,
)

if TYPE_CHECKING:
    from netcds.safety.schema import Monograph

Node = Leaf | MedLeaf | DateLeaf | OngoingLeaf


@dataclass(frozen=True)
class Reader:
    """One distinct leaf of a monograph's conditions; ``negated``: it sits under a ``not`` somewhere."""

    node: Node
    negated: bool


def conditions_of(mono: Monograph) -> list[SafetyCondition]:
    """The monograph's rule conditions (warnings, conditional monitoring, adjustments) in data order."""
    return (
        [w.when for w in mono.warnings]
        + [m.when for m in mono.monitoring if m.when is not None]
        + [a.when for a in mono.adjustments]
    )


def readers(mono: Monograph) -> tuple[Reader, ...]:
    """Every distinct leaf of the monograph's conditions, in first-seen order."""
    seen: dict[Node, bool] = {}

    def visit(c: SafetyCondition, negated: bool) -> None:
        if isinstance(c, SAll | SAny):
            for item in c.items:
                visit(item, negated)
        elif isinstance(c, SNot):
            visit(c.item, True)
        else:
            seen[c] = seen.get(c, False) or negated

    for cond in conditions_of(mono):
        visit(cond, False)
    return tuple(Reader(node, negated) for node, negated in seen.items())


def _plain(v: Any) -> Hashable:
    return (type(v).__name__, tuple(v) if isinstance(v, list) else v)


def rule_inputs(leaves: tuple[Reader, ...], ctx: Context) -> tuple[Hashable, ...]:
    """The key: what each leaf contributes for this patient (see the module docstring)."""
    facts = ctx.facts
    parts: list[Hashable] = []
    for r in leaves:
        node = r.node
        if isinstance(node, Leaf) and isinstance(node.cond, Compare):
            c = node.cond
            v = facts.get(c.fact)
            if v is None:
                parts.append((None, facts.missing_for(c.fact), facts.why(c.fact)))
                continue
            truth = compare_value(c, v)
            parts.append((truth, _plain(v), facts.why(c.fact)) if truth or r.negated else False)
        elif isinstance(node, MedLeaf):
            parts.append(None if ctx.meds is None else tuple(ctx.meds))
        elif isinstance(node, DateLeaf):
            flag = NONE_FLAGS.get(node.fact)
            parts.append((_plain(facts.get(node.fact)), ctx.as_of, flag and facts.get(flag[0])))
        else:  # a treatment-history leaf (received, progressed_on, ongoing): its whole result
            res = evaluate_condition(node, ctx)
            parts.append((res.value, tuple(res.hits), tuple(res.missing)))
    return tuple(parts)
