"""A monograph's rule results for one patient, shared by patients whose rule inputs agree.

Judging a monograph evaluates every rule condition with its reasons; patients with the same rule inputs
(:mod:`netcds.safety.rule_inputs`) get the same results, so one :class:`Judgement` is kept per agent and
inputs (``AgentKnowledge.judgements``). It carries what the agent's screen depends on (the rule
signature, computed once) and the screens already built from it, so a later patient with the same rule
inputs reads the agent's items and dose from it without rebuilding or hashing that signature again
(one screen per dose variant at most, kept as long as the judgement is: the memo's bound holds both).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netcds.memo import PerObject
from netcds.safety.condition_eval import Context, Result, evaluate
from netcds.safety.rule_inputs import Reader, readers, rule_inputs

if TYPE_CHECKING:
    from netcds.safety.load import AgentKnowledge
    from netcds.safety.models import DoseResult, SafetyItem
    from netcds.safety.schema import Monograph

# the results of a monograph's warnings, monitoring and adjustments
Judged = tuple[tuple[Result, ...], tuple[Result, ...], tuple[Result, ...]]
# an agent's screen: its items (unsorted) and its dose
Core = tuple[tuple["SafetyItem", ...], "DoseResult"]
ALWAYS = Result(True)
NEVER = Result(False)


def judge(mono: Monograph, ctx: Context) -> Judged:
    """The result of every rule condition of a monograph for one patient (in data order)."""
    return (
        tuple(evaluate(w.when, ctx) for w in mono.warnings),
        tuple(evaluate(m.when, ctx) if m.when is not None else ALWAYS for m in mono.monitoring),
        tuple(evaluate(a.when, ctx) for a in mono.adjustments),
    )


def rule_signature(results: tuple[Result, ...]) -> tuple[object, ...]:
    """What the items and dose can depend on: a false rule adds nothing, so it is just False; a true or
    unknown one adds text built from its decisive facts and the fields it names."""
    return tuple(False if r.value is False else (r.value, tuple(r.hits), tuple(r.missing)) for r in results)


class Judgement:
    """One set of rule results of a monograph (``judged``), its rule signature (the three groups'
    :func:`rule_signature`, the screen memo's key) and the screens built from it by dose variant
    (filled only for monographs without a per-kg dose, whose screens the weight does not change).
    Never changed once built but for ``screens``, which only gains entries equal to what the screen
    memo holds for the same signature."""

    __slots__ = ("judged", "screens", "signature")

    def __init__(self, judged: Judged) -> None:
        self.judged = judged
        self.signature = tuple(rule_signature(r) for r in judged)
        self.screens: dict[str | None, Core] = {}


class _Monograph:
    """What is read of a monograph for every patient, found once per loaded monograph: its distinct
    condition leaves and whether a dose rule is per kg (the weight then decides the amount)."""

    __slots__ = ("per_kg", "readers")

    def __init__(self, mono: Monograph) -> None:
        self.readers: tuple[Reader, ...] = readers(mono)
        self.per_kg = any(a.effect.per_kg is not None for a in mono.adjustments)


known: PerObject[Monograph, _Monograph] = PerObject(_Monograph)


def shared_judgement(mono: Monograph, ctx: Context, kb: AgentKnowledge) -> Judgement:
    """:func:`judge` as a :class:`Judgement`, shared with earlier patients whose rule inputs agree."""
    key = (mono.id, rule_inputs(known(mono).readers, ctx))
    found: Judgement | None = kb.judgements.get(key)
    if found is None:
        # a false rule is never read past its value: one shared result stands for all of them
        w, m, a = (tuple(NEVER if r.value is False else r for r in g) for g in judge(mono, ctx))
        found = Judgement((w, m, a))
        kb.judgements.put(key, found)
    return found


def judge_shared(mono: Monograph, ctx: Context, kb: AgentKnowledge) -> Judged:
    """:func:`judge`, shared with earlier patients whose rule inputs agree (:mod:`.rule_inputs`)."""
    return shared_judgement(mono, ctx, kb).judged
