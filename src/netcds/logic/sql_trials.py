"""Trials in the SQL compiler: facts that are unknown yet known to lie among values.

A derived fact can be unknown but certain to be one of a few values (facts.py ``Derived.among``: a lung
carcinoid of < 2 mitoses/2 mm² whose necrosis is unrecorded is typical or atypical). The per-patient
evaluator (logic/evaluate.py) then decides a comparison of it where each of the values answers alike
(``among_value``), and an all/any node reading it where each value gives the node the same answer
(``_decided_by_trials``). :class:`AmongTrials` writes both as SQL for
:class:`netcds.logic.sql.ConditionCompiler`, the class it is mixed into: per among-fact, a test (SQL TRUE
where it is unknown but among its values) and, where it holds, the answer every trial agrees on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from netcds.logic.ast import All, AnyOf, Compare, Condition, facts_read
from netcds.logic.evaluate import among_value, compare_value

# derived fact -> (SQL: unknown but known to lie among the values, the values): Derived.among
Among = Mapping[str, tuple[str, tuple[str, ...]]]


class AmongTrials(ABC):
    """The among-facts' part of a condition compiler: their comparisons decided by the values alone, and
    their all/any nodes tried with each value. The compiler provides the node SQL (:meth:`expr`), the
    plain AND/OR of a node (:meth:`_combined`), the shared ``leaves`` columns (:meth:`_named`) and the
    fact paths read (``facts``)."""

    facts: set[str]

    def __init__(self, among: Among | None = None) -> None:
        self.among = dict(among or {})
        self.tried: dict[str, Any] = {}  # among-fact -> the value it is tried as, while a trial is written
        self.known: set[str] = set()  # among-facts not unknown-with-among where the SQL being written runs

    @abstractmethod
    def expr(self, c: Condition | None) -> str:
        """The node's value (TRUE/FALSE/NULL)."""

    @abstractmethod
    def _combined(self, c: All | AnyOf) -> str:
        """``c`` as AND / OR of its items."""

    @abstractmethod
    def _named(self, sql: str) -> str:
        """The ``leaves`` column computing ``sql``."""

    def among_leaf(self, c: Compare, sql: str) -> str:
        """The comparison ``c`` (its SQL ``sql``), also decided where its fact is unknown but lies among
        values that each answer it alike (evaluate.among_value)."""
        if c.fact in self.among:
            where, values = self.among[c.fact]
            decided = among_value(c, values)
            if decided is not None:
                return f"COALESCE({sql}, CASE WHEN {where} THEN {'TRUE' if decided else 'FALSE'} END)"
        return sql

    def tried_literal(self, c: Condition) -> str | None:
        """TRUE or FALSE for a comparison of a fact being tried, within its trial; else None."""
        if isinstance(c, Compare) and c.fact in self.tried:
            return "TRUE" if compare_value(c, self.tried[c.fact]) else "FALSE"
        return None

    def tried_node(self, c: All | AnyOf) -> str:
        """The all/any node ``c``, tried with the among-facts it reads that no enclosing trial settles."""
        skip = self.tried.keys() | self.known
        return self._trying(c, [f for f in self.among if f in facts_read(c) and f not in skip])

    def reads_among(self, c: Condition) -> bool:
        """Whether ``c`` reads an among-fact (and may be decided by trials that no child settles)."""
        return any(f in self.among for f in facts_read(c))

    def _trying(self, c: All | AnyOf, pending: list[str]) -> str:
        """``c``, tried with each value of the among-facts ``pending`` it reads where they are unknown but
        lie among values (logic/evaluate.py ``_decided_by_trials``): where the first is, the value every
        trial gives alike (NULL where they differ or one is unknown), the trials written with the fact's
        comparisons as literals (so with no further trial of it inside); elsewhere the node as it is (no
        node inside tried with it either), tried with the others. Equal to evaluate.py, which tries every
        combination at once: a known node is the same in every trial (Kleene logic is monotone)."""
        if not pending:
            return self._combined(c)
        fact, rest = pending[0], pending[1:]
        where, values = self.among[fact]
        trials = []
        for v in values:
            self.tried[fact] = v
            try:
                trials.append(self.expr(c))
            finally:
                del self.tried[fact]
        self.known.add(fact)
        try:
            otherwise = self._trying(c, rest)
        finally:
            self.known.discard(fact)
        self.facts.add(fact)  # the test reads the columns the fact is derived from
        return f"(CASE WHEN {self._named(f'({where})')} THEN {agreed(trials)} ELSE {otherwise} END)"


def agreed(trials: list[str]) -> str:
    """TRUE where every one of ``trials`` is TRUE, FALSE where every one is FALSE, else NULL; each trial
    written once (a literal one folded away)."""
    fixed = {t for t in trials if t in ("TRUE", "FALSE")}
    rest = list(dict.fromkeys(t for t in trials if t not in fixed))  # a trial the value does not change: once
    if len(fixed) > 1:
        return "CAST(NULL AS BOOLEAN)"
    if not rest:
        return fixed.pop()
    if not fixed and len(rest) == 1:
        return rest[0]  # every trial is the same expression: its value is the agreed one
    total = " + ".join(f"CAST({t} AS INTEGER)" for t in rest)
    arms = {"TRUE": f" WHEN {len(rest)} THEN TRUE", "FALSE": " WHEN 0 THEN FALSE"}
    kept = fixed or set(arms)  # beside a literal trial, only its own answer can be agreed on
    return "(CASE " + total + "".join(arm for answer, arm in arms.items() if answer in kept) + " END)"
