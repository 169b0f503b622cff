"""Compile the condition language to SQL, with NULL as UNKNOWN.

The per-patient evaluator (logic/evaluate.py) is the reference; this module writes the
same three-valued logic as SQL expressions over the canonical cohort relation
(cohort/layout.py), where every fact is a column (``tumor.sstr_status`` ->
``tumor__sstr_status``, ``derived.grade`` -> ``derived__grade``; the derived facts are
computed by cohort/derived_sql.py, the SQL mirror of facts.py). SQL's NULL is UNKNOWN, and
SQL's AND/OR/NOT are Kleene's, exactly like ``All``/``AnyOf``/``Not``. History predicates
(``received``, ``progressed_on``) run over the ``treatments`` list in one pass
(:class:`HistoryBits`). One :class:`Dialect` covers DuckDB and Spark SQL. Any change in
facts.py, history.py or evaluate.py must be mirrored here or in cohort/derived_sql.py: the
cohort equivalence tests compare both on thousands of generated patients.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from netcds.history import (
    SSA_READINGS,
    STANDARD_DOSE_CEILING_MG,
    STANDARD_DOSE_FLOOR_MG,
    STANDARD_MAX_INTERVAL_DAYS,
    STANDARD_MIN_INTERVAL_DAYS,
)
from netcds.logic.ast import All, AnyOf, Compare, Condition, History, Not
from netcds.logic.dialect import Dialect, SqlCompileError, dialect, in_expr, lit
from netcds.logic.evaluate import says_of
from netcds.logic.sql_trials import Among, AmongTrials
from netcds.patient import REGIMEN_AGENTS, TreatmentAgent
from netcds.vocabulary import fact_specs

__all__ = [  # with the dialect names (logic/dialect.py) that callers import from here
    "LEVEL_CODES",
    "TREATMENT_AGENT_VALUES",
    "ConditionCompiler",
    "Dialect",
    "HistoryBits",
    "SqlCompileError",
    "col",
    "dialect",
    "in_expr",
    "lit",
    "matching_treatment_agents",
    "ssa_level_code",
]

TREATMENT_AGENT_VALUES: tuple[str, ...] = tuple(TreatmentAgent.__args__)  # type: ignore[attr-defined]


def col(path: str) -> str:
    """The canonical column of a raw fact path, or the staged column of a derived fact."""
    return path.replace(".", "__")


def matching_treatment_agents(agents: frozenset[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Every value of ``treatments[].agent`` whose agents meet ``agents`` (regimen ids expanded)."""
    want = set(agents)
    return tuple(a for a in TREATMENT_AGENT_VALUES if want.intersection(REGIMEN_AGENTS.get(a, (a,))))


LEVEL_CODES = {"standard": 1, "above_label": 2, "below_standard": 3}
MIN_INTERVAL = float(STANDARD_MIN_INTERVAL_DAYS)
MAX_INTERVAL = float(STANDARD_MAX_INTERVAL_DAYS)
# the dose's edges in dose order: a floor f is passed at dose >= f, a ceiling c at dose > c; a dose
# passes a prefix of them, so how many it passes places it against every floor and ceiling
EDGES = sorted(
    {(f, 0) for f in STANDARD_DOSE_FLOOR_MG.values()} | {(c, 1) for c in STANDARD_DOSE_CEILING_MG.values()}
)
INTERVAL_STATES = 4  # the interval state: 0 unknown, 1 standard, 2 shorter, 3 longer


def ssa_level_code(agent: str | None, ds: int, iv: int) -> int:
    """history.ssa_dose_level of a line as 1 standard, 2 above-label, 3 below standard, 0 unknown (or
    not an SSA), from the dose state ``ds`` (0 unknown, else 1 + the number of EDGES the dose passes)
    and the interval state ``iv`` (0 unknown, 1 from STANDARD_MIN to STANDARD_MAX_INTERVAL_DAYS, 2
    shorter, 3 longer), checked in ssa_dose_level's order. The regimen id ``ssa`` is standard while
    neither is recorded, else the level its readings as each agent (SSA_READINGS) agree on, or unknown."""
    if agent == "ssa":
        if not ds and not iv:
            return 1
        levels = {ssa_level_code(a, ds, iv) for a in SSA_READINGS}
        return levels.pop() if len(levels) == 1 else 0
    if agent == "ssa_above_label":
        return 2
    if agent not in STANDARD_DOSE_CEILING_MG:
        return 0
    passed = ds - 1
    if (ds and passed > EDGES.index((STANDARD_DOSE_CEILING_MG[agent], 1))) or iv == 2:
        return 2
    if (ds and passed <= EDGES.index((STANDARD_DOSE_FLOOR_MG[agent], 0))) or iv == 3:
        return 3
    return 1 if ds and iv else 0


PROGRESSION_ASSESSED = "progression_assessed_on"  # history.progression_assessed_on (cohort/layout.py)


def progression_sign_sql(t: str) -> str:
    """A sign of progression on the line ``t`` (history.progressed_value), NULL where none is recorded."""
    return (
        f"({t}.stop_reason = 'progression' OR {t}.progression_date IS NOT NULL OR {t}.best_response = 'PD')"
    )


def progressed_on_sql(t: str) -> str:
    """The line ``t``'s recorded progression as 0 (no), 1 (yes), 2 (unrecorded), none where the record dates
    it after a course that ended for another reason (history.progressed_after_course)."""
    after = (
        f"{t}.progression_date > {t}.end_date AND {t}.stop_reason <> 'progression'"
        f" AND {t}.best_response IS DISTINCT FROM 'PD'"
    )
    return f"CASE WHEN {after} THEN 0 ELSE COALESCE(CAST({t}.progressed AS INTEGER), 2) END"


def assessed_since_start_sql(t: str) -> str:
    """Progression assessed after the line ``t`` began (history.progression_assessed_after)."""
    return f"({t}.start_date < {PROGRESSION_ASSESSED})"


Line = tuple[str | None, int, int, int]  # a treatment line's (agent, pt, ap, lv): see HistoryBits
# (pt, ap) of a line for progressed (0 false, 1 true, 2 unknown) x any sign of progression (0/1) x
# ongoing with progression assessed after its start (0/1): progressed false -> (0, signs); true, or
# unknown with a sign -> (3, 1); unknown without a sign -> 2 (ongoing and progression assessed since
# it began: yes if the disease is progressive now) or 1 (unknown)
_PROGRESSION = [
    {"pt": pt, "ap": ap}
    for ongoing in (0, 1)
    for signs in (0, 1)
    for p in (0, 1, 2)
    for pt, ap in [((0, signs) if p == 0 else (3, 1) if p == 1 or signs else ((2, 0) if ongoing else (1, 0)))]
]


class HistoryBits:
    """Every history predicate in one pass over ``treatments``, through a lookup table.

    A line's flags depend only on a few small features: its agent, ``pt`` (progression on the line: 0 no,
    1 unknown, 2 unknown but the line is ongoing
    with progression assessed since it began, 3 yes), ``ap`` (any sign of progression) and ``lv`` (SSA
    dose level: 0 unknown or not an SSA, 1 standard, 2 above label, 3 below standard; from the agent and
    the dose and interval states, :func:`ssa_level_code`). The SQL computes the features some predicate reads
    and indexes a constant list, tabulated here in Python, holding the line's flags: one per ``received``
    set, four per ``progressed_on`` fact (a spare bit, then 'unknown', 'yes if progressive now', 'yes').
    The flags of all lines are OR-ed into ``tx0``, ``tx1``, ... (NULL when the history is unknown), which
    the facts then read like any comparison.
    """

    BITS_PER_COLUMN = 62

    def __init__(self, d: Dialect) -> None:
        self.d = d
        self.terms: list[tuple[int, Callable[[Line], int]]] = []  # (first bit, the group's bits for a line)
        self.keys: dict[Any, int] = {}
        self.n = 0
        self.reads: set[str] = set()  # the line features some predicate reads
        self.per_line = False  # keep each line's table position as the list ``tl`` (need_lines)
        self.told: set[str] = set()  # agents the line table tells apart whatever their flags (need_lines)
        self.frozen = False  # set once a table over the lines was handed out (line_table)

    def _alloc(self, key: Any, width: int, reads: tuple[str, ...], bits: Callable[[Line], int]) -> int:
        if key not in self.keys:
            self._thaw(reads)
            per = self.BITS_PER_COLUMN
            if self.n // per != (self.n + width - 1) // per:
                self.n = (self.n // per + 1) * per  # a group stays in one column
            self.keys[key] = self.n
            self.terms.append((self.n, bits))
            self.reads.update(reads)
            self.n += width
        return self.keys[key]

    def _thaw(self, reads: tuple[str, ...]) -> None:
        if self.frozen:  # the positions a table over the lines was written for would no longer hold
            raise SqlCompileError(f"a history predicate reading {reads} was added after the line table")

    def need_lines(self, reads: tuple[str, ...], agents: tuple[str, ...] = ()) -> None:
        """Keep each line's position in the line table as the list column ``tl`` (1-based, aligned with
        ``treatments``; NULL when the history is unknown), with the features ``reads`` in it and the
        ``agents`` told apart."""
        if not set(reads) <= self.reads or not set(agents) <= self.told or not self.per_line:
            self._thaw(reads)
        self.per_line = True
        self.reads.update(reads)
        self.told.update(agents)

    def line_table(self, value: Callable[[dict[str, Any]], int]) -> list[int]:
        """``value`` of every line the table's positions stand for (its features, as feature -> value:
        ``agent`` None for every agent no predicate tells apart), in position order; read ``tl``'s
        elements into it. No predicate may be added afterwards."""
        self.frozen = True
        return [value(x) for x in self._index()[1]]

    def _col(self, bit: int) -> str:
        return f"tx{bit // self.BITS_PER_COLUMN}"

    def test(self, bit: int) -> str:
        return f"(({self._col(bit)} & {1 << (bit % self.BITS_PER_COLUMN)}) <> 0)"

    def received(self, agents: tuple[str, ...]) -> str:
        hits = matching_treatment_agents(agents)
        if not hits:
            return "(CASE WHEN treatments IS NULL THEN NULL ELSE FALSE END)"
        b = self._alloc(("received", hits), 1, ("agent",), lambda x: int(x[0] in hits))
        return self.test(b)  # NULL when the history is unknown (tx NULL), as the bit test is

    def progressed_on(self, agents: frozenset[str] | tuple[str, ...], level: str | None = None) -> str:
        """facts.progressed_on: a line is 0 (no), 1 (unknown), 2 (yes if the disease is progressive now, else
        unknown: an ongoing line whose progression is unrecorded) or 3 (yes); the most telling line wins.
        With a dose ``level``, lines at another known level do not count, and an unknown level makes a
        'yes' unknown."""
        hits = matching_treatment_agents(tuple(agents))
        want = LEVEL_CODES[level] if level else None

        def code(x: Line) -> int:
            agent, pt, _, lv = x
            if agent not in hits or (want is not None and lv not in (0, want)):
                return 0
            return min(pt, 1) if want is not None and lv == 0 else pt

        reads = ("agent", "pt", "lv") if level else ("agent", "pt")
        b = self._alloc(("progressed_on", hits, level), 4, reads, lambda x: 1 << code(x))
        return (
            f"(CASE WHEN {self._col(b)} IS NULL THEN NULL WHEN {self.test(b + 3)} THEN TRUE"
            f" WHEN {self.test(b + 2)} AND disease__status = 'progressive' THEN TRUE"
            f" WHEN {self.test(b + 1)} OR {self.test(b + 2)} THEN NULL ELSE FALSE END)"
        )

    def progressed_after_prior(self) -> str:
        any_line = self._alloc("any_line", 1, (), lambda _: 1)
        prog = self._alloc("any_progression", 1, ("ap",), lambda x: x[2])
        # a line whose progression is unrecorded and shows no sign of it (pt 1 or 2): unknown, not false
        unrecorded = self._alloc("any_unrecorded_progression", 1, ("pt",), lambda x: int(x[1] in (1, 2)))
        return (
            f"CASE WHEN {self._col(any_line)} IS NULL THEN NULL WHEN NOT {self.test(any_line)} THEN FALSE"
            f" WHEN {self.test(prog)} THEN TRUE WHEN disease__status = 'progressive' THEN TRUE"
            f" WHEN {self.test(unrecorded)} OR disease__status IS NULL THEN NULL ELSE FALSE END"
        )

    def _line_bits(self, x: Line) -> int:
        return sum(f(x) << first for first, f in self.terms)

    def _telling_agents(self) -> list[str]:
        """The agents whose flags differ from an unrecorded agent's for some progression and dose state
        (every other agent is looked up as position 0, an unknown agent's flags)."""
        states = list(
            itertools.product(
                ((0, 0), (0, 1), (1, 0), (2, 0), (3, 1)), range(len(EDGES) + 2), range(INTERVAL_STATES)
            )
        )

        def flags(agent: str | None) -> tuple[int, ...]:
            return tuple(
                self._line_bits((agent, pt, ap, ssa_level_code(agent, ds, iv))) for (pt, ap), ds, iv in states
            )

        unknown = flags(None)
        return [a for a in TREATMENT_AGENT_VALUES if a in self.told or flags(a) != unknown]

    def _features(self, t: str) -> list[tuple[list[dict[str, Any]], str]]:
        """The line features some predicate reads: (the values, as feature -> value, in the order of
        the 0-based index the SQL over the line ``t`` gives). Kept cheap, as they are paid per line:
        only the agents that tell flags apart; the progression state by arithmetic over three 0/1/2
        features (``_PROGRESSION``); dose and interval states with unknown as the last value."""
        feats: list[tuple[list[dict[str, Any]], str]] = []
        if "agent" in self.reads:
            agents = self._telling_agents()
            values: list[dict[str, Any]] = [{"agent": a} for a in (None, *agents)]
            feats.append((values, self.d.position(agents, f"{t}.agent") if agents else "0"))
        if self.reads & {"pt", "ap"}:  # one feature for both: (pt, ap) takes only five values
            signs = f"COALESCE({progression_sign_sql(t)}, FALSE)"
            # 'ongoing' as facts.progressed_on reads it (history.progressing_on_ongoing): no end, and
            # progression assessed after the line began
            ongoing = f"COALESCE({t}.end_date IS NULL AND {assessed_since_start_sql(t)}, FALSE)"
            sql = f"({progressed_on_sql(t)} + 3 * CAST({signs} AS INTEGER) + 6 * CAST({ongoing} AS INTEGER))"
            feats.append((list(_PROGRESSION), sql))
        if "lv" in self.reads:  # the dose level from the dose and interval states (ssa_level_code)
            n = len(EDGES)
            passed = " + ".join(
                f"CAST({t}.dose_mg {'>' if strict else '>='} {v!r} AS INTEGER)" for v, strict in EDGES
            )
            # the dose state: 0 unknown, else 1 + the number of edges the dose passes
            feats.append(
                ([*({"ds": v + 1} for v in range(n + 1)), {"ds": 0}], f"COALESCE({passed}, {n + 1})")
            )
            interval = (
                f"COALESCE(CAST({t}.interval_days < {MIN_INTERVAL!r} AS INTEGER)"
                f" + 2 * CAST({t}.interval_days > {MAX_INTERVAL!r} AS INTEGER), 3)"
            )
            feats.append(([{"is": 1}, {"is": 2}, {"is": 3}, {"is": 0}], interval))
        return feats

    def _index(self, t: str = "t") -> tuple[str, list[dict[str, Any]]]:
        """The 1-based position of the line ``t`` in the line table (SQL), and the features of each
        position (feature -> value, ``lv`` included)."""
        feats = self._features(t)
        index, stride = "1", 1
        for values, sql in feats:
            index += f" + {stride} * {sql}" if stride > 1 else f" + {sql}"
            stride *= len(values)
        xs = []
        for combo in itertools.product(*[values for values, _ in reversed(feats)]):
            x = {k: v for part in combo for k, v in part.items()}
            x["lv"] = ssa_level_code(x.get("agent"), x.get("ds", 0), x.get("is", 0))
            xs.append(x)
        return index, xs

    def columns(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The ``tx`` columns (name, SQL), as (columns over ``treatments``, columns over them). With
        :meth:`need_lines` the first holds ``tl`` and the second the ``tx`` columns read from it (each
        line's position is worked out once); else the first holds the ``tx`` columns."""
        t = "t"
        index, xs = self._index(t)
        lines: list[Line] = [(x.get("agent"), x.get("pt", 0), x.get("ap", 0), x["lv"]) for x in xs]
        over, param, position = ("tl", "x", "x") if self.per_line else ("treatments", t, f"({index})")
        out = []
        for c in range((self.n + self.BITS_PER_COLUMN - 1) // self.BITS_PER_COLUMN):
            terms = [
                (first % self.BITS_PER_COLUMN, f)
                for first, f in self.terms
                if first // self.BITS_PER_COLUMN == c
            ]
            table = [sum(f(x) << shift for shift, f in terms) for x in lines]
            one = str(table[0]) if len(table) == 1 else None
            per_line = one or self.d.list_at(self.d.bigint_array(table), position)
            agg = self.d.list_bit_or(self.d.transform(over, (param,), per_line))
            out.append(
                (
                    f"tx{c}",
                    f"CASE WHEN {over} IS NULL THEN NULL ELSE COALESCE({agg}, CAST(0 AS BIGINT)) END",
                )
            )
        if not self.per_line:
            return out, []
        positions = self.d.transform("treatments", (t,), index)
        return [("tl", f"CASE WHEN treatments IS NULL THEN NULL ELSE {positions} END")], out


# ---------------------------------------------------------------------------------------------
# Conditions
# ---------------------------------------------------------------------------------------------


class ConditionCompiler(AmongTrials):
    """Compiles conditions to SQL over a staged relation.

    Leaves (comparisons, history predicates) become named columns of the ``leaves`` stage
    (shared between conditions: the same leaf is computed once); :meth:`expr` then gives
    a node's three-valued value from those columns. Facts unknown yet known to lie among
    values (``among``) are tried with each (logic/sql_trials.py).
    """

    def __init__(
        self, d: Dialect, silent_nulls: Mapping[str, str] | None = None, among: Among | None = None
    ) -> None:
        super().__init__(among)
        self.d = d
        self.silent_nulls = dict(silent_nulls or {})  # derived fact -> SQL: unknown, naming no field
        self.bits = HistoryBits(d)
        self.leaves: dict[str, str] = {}  # leaf SQL -> column name
        self.facts: set[str] = set()  # fact paths read (raw and derived)

    def leaf_sql(self, c: Compare | History) -> str:
        if isinstance(c, History):
            self.facts.update({"treatments", "disease.status"})
            if c.op == "received":
                return self.bits.received(c.agents)
            return self.bits.progressed_on(c.agents)
        return self.among_leaf(c, self._compare(c))

    def _compare(self, c: Compare) -> str:
        spec = fact_specs().get(c.fact)
        if spec is None:
            raise SqlCompileError(f"unknown fact '{c.fact}'")
        self.facts.add(c.fact)
        x = col(c.fact)
        if spec.kind == "list":
            if c.op != "contains" or c.fact in ("treatments", "assessments"):
                raise SqlCompileError(f"'{c.op}' on list fact {c.fact} has no SQL translation")
            return self.d.contains(x, lit(c.value))
        if c.op == "contains":
            raise SqlCompileError(f"'contains' needs a list fact ({c.fact} is {spec.kind})")
        if spec.kind == "date" and not all(isinstance(v, date) for v in _values(c.value)):
            raise SqlCompileError(f"date fact {c.fact} compared with a non-date value {c.value!r}")
        if spec.kind == "bool" and c.op in ("eq", "ne") and isinstance(c.value, bool):
            # x = TRUE is x itself under three-valued logic (NULL stays NULL): no work per row
            return x if (c.op == "eq") == c.value else f"(NOT {x})"
        ops = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
        if c.op in ops:
            return f"({x} {ops[c.op]} {lit(c.value)})"
        if c.op in ("in", "not_in"):
            return in_expr(x, tuple(c.value), negate=c.op == "not_in")
        raise SqlCompileError(f"unknown operator '{c.op}'")

    def leaf(self, c: Compare | History) -> str:
        return self._named(self.leaf_sql(c))

    def _named(self, sql: str) -> str:
        """The ``leaves`` column computing ``sql`` (once, whoever reads it)."""
        if sql not in self.leaves:
            self.leaves[sql] = f"l{len(self.leaves)}"
        return self.leaves[sql]

    def expr(self, c: Condition | None) -> str:
        """The node's value (TRUE/FALSE/NULL) from the leaf columns; ``None`` (no condition) is TRUE."""
        if c is None:
            return "TRUE"
        if (literal := self.tried_literal(c)) is not None:
            return literal
        if isinstance(c, Compare | History):
            return self.leaf(c)
        if isinstance(c, All | AnyOf):
            return self.tried_node(c)
        inner = self.expr(c.item)
        return {"TRUE": "FALSE", "FALSE": "TRUE"}.get(inner, f"(NOT {inner})")

    def _combined(self, c: All | AnyOf) -> str:
        """``c`` as AND / OR of its items (a literal item of a trial folded away)."""
        items = [self.expr(i) for i in c.items]
        absorbing, neutral = ("FALSE", "TRUE") if isinstance(c, All) else ("TRUE", "FALSE")
        if absorbing in items:
            return absorbing
        kept = [x for x in items if x != neutral]
        if not kept:
            return neutral
        return "(" + (" AND " if isinstance(c, All) else " OR ").join(kept) + ")"

    def reports_missing(self, c: Condition | None) -> str | None:
        """For a node that is UNKNOWN: SQL that is TRUE when its ``missing`` list is non-empty
        (evaluate.py); ``None`` means always. Only a derived fact that is unknown without naming a
        field (facts.py ``Derived(None, why)``) makes it empty."""
        if c is None or isinstance(c, History):
            return None
        if isinstance(c, Compare):
            silent = self.silent_nulls.get(c.fact)
            return f"NOT ({silent})" if silent else None
        if isinstance(c, Not):
            return self.reports_missing(c.item)
        parts: list[str] = []
        for kid in c.items:
            m = self.reports_missing(kid)
            if m is None:
                parts.append(f"({self.expr(kid)} IS NULL)")
            else:
                parts.append(f"({self.expr(kid)} IS NULL AND {m})")
        if all(self.reports_missing(k) is None for k in c.items):
            return None
        return "(" + " OR ".join(parts) + ")"

    def decisive_text(self, c: Condition, value: bool, says: Callable[[Compare | History], str]) -> str:
        """SQL text naming what decided ``c`` = ``value`` (see cohort/verdict.py ``decisive``)."""
        if isinstance(c, Compare | History):
            return lit(says(c))
        if isinstance(c, Not):
            if c.says:
                return lit(c.says)
            return f"('not: ' || {self.decisive_text(c.item, not value, says)})"
        first_decides = (isinstance(c, All) and not value) or (isinstance(c, AnyOf) and value)
        if not first_decides:
            return lit(c.says) if c.says else self.decisive_text(c.items[0], value, says)
        test = "IS TRUE" if value else "IS FALSE"
        arms = " ".join(
            f"WHEN ({self.expr(k)} {test}) THEN {self.decisive_text(k, value, says)}" for k in c.items
        )
        if self.reads_among(c):  # decided by trials, no child settles it
            arms += f" ELSE {lit(says_of(c))}"  # (cohort/verdict.py decisive)
        return f"(CASE {arms} END)"


def _values(v: Any) -> tuple[Any, ...]:
    return tuple(v) if isinstance(v, tuple | list) else (v,)
