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

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, ClassVar

from netcds.history import STANDARD_DOSE_CEILING_MG, STANDARD_MIN_INTERVAL_DAYS
from netcds.logic.ast import All, AnyOf, Compare, Condition, History, Not
from netcds.patient import REGIMEN_AGENTS, TreatmentAgent
from netcds.vocabulary import fact_specs

TREATMENT_AGENT_VALUES: tuple[str, ...] = tuple(TreatmentAgent.__args__)  # type: ignore[attr-defined]


class SqlCompileError(ValueError):
    """A condition form that has no SQL translation (named, never silently approximated)."""


def lit(v: Any) -> str:
    """A SQL literal for a condition value."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int | float):
        return repr(float(v))
    if isinstance(v, date):
        return f"DATE '{v.isoformat()}'"
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    raise SqlCompileError(f"no SQL literal for {v!r}")


def in_list(values: tuple[Any, ...] | list[Any] | frozenset[str]) -> str:
    return "(" + ", ".join(lit(v) for v in sorted(values) if v is not None) + ")"


def in_expr(x: str, values: tuple[Any, ...] | list[Any] | frozenset[str], negate: bool = False) -> str:
    """``x IN (...)`` with the same three-valued result; longer lists as an OR chain, which keeps
    DuckDB from turning each list into a join (slow to plan and to run in a query this wide)."""
    vals = [lit(v) for v in (sorted(values) if isinstance(values, frozenset) else values)]
    if len(vals) <= 3:
        return f"({x} {'NOT IN' if negate else 'IN'} ({', '.join(vals)}))"
    chain = "(" + " OR ".join(f"{x} = {v}" for v in vals) + ")"
    return f"(NOT {chain})" if negate else chain


class Dialect:
    """SQL spelled for one engine. Only what differs between DuckDB and Spark lives here."""

    name = "generic"
    types: ClassVar[dict[str, str]] = {}

    def lam(self, params: tuple[str, ...], body: str) -> str:
        raise NotImplementedError

    def filter(self, lst: str, params: tuple[str, ...], pred: str) -> str:
        raise NotImplementedError

    def transform(self, lst: str, params: tuple[str, ...], expr: str) -> str:
        raise NotImplementedError

    def exists(self, lst: str, var: str, pred: str) -> str:
        """TRUE when some element satisfies ``pred`` (``pred`` must never be NULL); NULL list -> NULL."""
        raise NotImplementedError

    def list_max(self, lst: str) -> str:
        raise NotImplementedError

    def list_len(self, lst: str) -> str:
        raise NotImplementedError

    def contains(self, lst: str, value: str) -> str:
        raise NotImplementedError

    def struct(self, fields: list[tuple[str, str]]) -> str:
        raise NotImplementedError

    def array(self, items: list[str]) -> str:
        raise NotImplementedError

    def typed_empty_array(self, element_type: str) -> str:
        raise NotImplementedError

    def epoch_days(self, d: str) -> str:
        raise NotImplementedError

    def list_bit_or(self, lst: str) -> str:
        """Bitwise OR of a BIGINT list; NULL for an empty list."""
        raise NotImplementedError

    def int_div(self, a: str, b: str) -> str:
        raise NotImplementedError

    def shift_left(self, value: str, by: str) -> str:
        raise NotImplementedError

    def list_at(self, lst: str, i: str) -> str:
        """Element ``i`` (1-based, always in range) of a list."""
        raise NotImplementedError

    def type_of(self, logical: str) -> str:
        return self.types[logical]

    def treatments_type(self, fields: tuple[tuple[str, str, str], ...]) -> str:
        raise NotImplementedError


class DuckDBDialect(Dialect):
    name = "duckdb"
    types: ClassVar[dict[str, str]] = {
        "bigint": "BIGINT", "string": "VARCHAR", "bool": "BOOLEAN", "double": "DOUBLE", "date": "DATE",
        "string_list": "VARCHAR[]",
    }  # fmt: skip

    def lam(self, params: tuple[str, ...], body: str) -> str:
        return f"lambda {', '.join(params)}: {body}"

    def filter(self, lst: str, params: tuple[str, ...], pred: str) -> str:
        return f"list_filter({lst}, {self.lam(params, pred)})"

    def transform(self, lst: str, params: tuple[str, ...], expr: str) -> str:
        return f"list_transform({lst}, {self.lam(params, expr)})"

    def exists(self, lst: str, var: str, pred: str) -> str:
        return f"(len({self.filter(lst, (var,), pred)}) > 0)"

    def list_max(self, lst: str) -> str:
        return f"list_max({lst})"

    def list_len(self, lst: str) -> str:
        return f"len({lst})"

    def contains(self, lst: str, value: str) -> str:
        return f"list_contains({lst}, {value})"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        return "struct_pack(" + ", ".join(f"{k} := {v}" for k, v in fields) + ")"

    def array(self, items: list[str]) -> str:
        return "[" + ", ".join(items) + "]"

    def typed_empty_array(self, element_type: str) -> str:
        return f"CAST([] AS {element_type}[])"

    def epoch_days(self, d: str) -> str:
        return f"date_diff('day', DATE '1970-01-01', {d})"

    def list_bit_or(self, lst: str) -> str:
        return f"list_aggregate({lst}, 'bit_or')"

    def int_div(self, a: str, b: str) -> str:
        return f"({a} // {b})"

    def shift_left(self, value: str, by: str) -> str:
        return f"(CAST({value} AS BIGINT) << {by})"

    def list_at(self, lst: str, i: str) -> str:
        return f"list_extract({lst}, {i})"

    def treatments_type(self, fields: tuple[tuple[str, str, str], ...]) -> str:
        return "STRUCT(" + ", ".join(f"{n} {self.types[t]}" for n, _, t in fields) + ")[]"

    def struct_type(self, fields: list[tuple[str, str]]) -> str:
        return "STRUCT(" + ", ".join(f"{n} {self.types[t]}" for n, t in fields) + ")"


class SparkDialect(Dialect):
    name = "spark"
    types: ClassVar[dict[str, str]] = {
        "bigint": "BIGINT", "string": "STRING", "bool": "BOOLEAN", "double": "DOUBLE", "date": "DATE",
        "string_list": "ARRAY<STRING>",
    }  # fmt: skip

    def lam(self, params: tuple[str, ...], body: str) -> str:
        head = params[0] if len(params) == 1 else "(" + ", ".join(params) + ")"
        return f"{head} -> {body}"

    def filter(self, lst: str, params: tuple[str, ...], pred: str) -> str:
        return f"filter({lst}, {self.lam(params, pred)})"

    def transform(self, lst: str, params: tuple[str, ...], expr: str) -> str:
        return f"transform({lst}, {self.lam(params, expr)})"

    def exists(self, lst: str, var: str, pred: str) -> str:
        return f"exists({lst}, {self.lam((var,), pred)})"

    def list_max(self, lst: str) -> str:
        return f"array_max({lst})"

    def list_len(self, lst: str) -> str:
        return f"size({lst})"

    def contains(self, lst: str, value: str) -> str:
        return f"array_contains({lst}, {value})"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        return "named_struct(" + ", ".join(f"'{k}', {v}" for k, v in fields) + ")"

    def array(self, items: list[str]) -> str:
        return "array(" + ", ".join(items) + ")"

    def typed_empty_array(self, element_type: str) -> str:
        return f"CAST(array() AS ARRAY<{element_type}>)"

    def epoch_days(self, d: str) -> str:
        return f"unix_date({d})"

    def list_bit_or(self, lst: str) -> str:
        return f"aggregate({lst}, CAST(0 AS BIGINT), (acc, x) -> acc | x)"

    def int_div(self, a: str, b: str) -> str:
        return f"({a} DIV {b})"

    def shift_left(self, value: str, by: str) -> str:
        return f"shiftleft(CAST({value} AS BIGINT), {by})"

    def list_at(self, lst: str, i: str) -> str:
        return f"element_at({lst}, CAST({i} AS INT))"

    def treatments_type(self, fields: tuple[tuple[str, str, str], ...]) -> str:
        return "ARRAY<STRUCT<" + ", ".join(f"{n}: {self.types[t]}" for n, _, t in fields) + ">>"

    def struct_type(self, fields: list[tuple[str, str]]) -> str:
        return "STRUCT<" + ", ".join(f"{n}: {self.types[t]}" for n, t in fields) + ">"


DIALECTS: dict[str, Dialect] = {"duckdb": DuckDBDialect(), "spark": SparkDialect()}


def dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown SQL dialect '{name}' (one of {sorted(DIALECTS)})") from None


def col(path: str) -> str:
    """The canonical column of a raw fact path, or the staged column of a derived fact."""
    return path.replace(".", "__")


def is_true(x: str) -> str:
    return f"({x} IS TRUE)"


def is_false(x: str) -> str:
    return f"({x} IS FALSE)"


def matching_treatment_agents(agents: frozenset[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Every value of ``treatments[].agent`` whose agents meet ``agents`` (regimen ids expanded)."""
    want = set(agents)
    return tuple(a for a in TREATMENT_AGENT_VALUES if want.intersection(REGIMEN_AGENTS.get(a, (a,))))


LEVEL_CODES = {"standard": 1, "above_label": 2}
MIN_INTERVAL = float(STANDARD_MIN_INTERVAL_DAYS)


def _ssa_level_code(t: str) -> str:
    """history.ssa_dose_level for one line ``t`` as 1 standard, 2 above-label, 0 unknown (or not an SSA)."""
    arms = " ".join(
        f"WHEN {lit(a)} THEN (CASE WHEN {t}.dose_mg > {c!r} OR {t}.interval_days < {MIN_INTERVAL!r}"
        f" THEN 2 WHEN {t}.dose_mg IS NOT NULL AND {t}.interval_days IS NOT NULL THEN 1 ELSE 0 END)"
        for a, c in sorted(STANDARD_DOSE_CEILING_MG.items())
    )
    return f"(CASE {t}.agent WHEN 'ssa' THEN 1 WHEN 'ssa_above_label' THEN 2 {arms} ELSE 0 END)"


class HistoryBits:
    """Every history predicate in two cheap passes over ``treatments``.

    Pass 1 gives each line small integer features, each computed once: ``am0``... (a bit per agent set
    the knowledge names, e.g. everolimus/Lu-177), ``pt`` (progression on the line: 0 no, 1 unknown,
    2 unknown but the line is ongoing, 3 yes), ``lv`` (SSA dose level) and ``ap`` (any sign of
    progression). Pass 2 turns them into bit flags: one per ``received`` set, four per
    ``progressed_on`` fact (a spare bit, then 'unknown', 'yes if progressive now', 'yes').
    The flags of all lines are OR-ed into ``tx0``, ``tx1``, ... (NULL when the history is unknown),
    which the facts then read like any comparison.
    """

    BITS_PER_COLUMN = 62
    X = "x"

    def __init__(self, d: Dialect) -> None:
        self.d = d
        self.agent_sets: list[tuple[str, ...]] = []  # bit i of am
        self.terms: list[tuple[int, str]] = []  # (first bit, pass-2 SQL giving its bits)
        self.keys: dict[Any, int] = {}
        self.n = 0

    def _agent_test(self, agents: tuple[str, ...]) -> str:
        """SQL (over a pass-1 line ``x``) that is TRUE when the line used one of ``agents``."""
        hits = matching_treatment_agents(agents)
        if hits not in self.agent_sets:
            self.agent_sets.append(hits)
        i = self.agent_sets.index(hits)
        return f"(({self.X}.am{i // self.BITS_PER_COLUMN} & {self._mask(i)}) <> 0)"

    def _alloc(self, key: Any, width: int, term: Callable[[int], str]) -> int:
        if key not in self.keys:
            if self.n // self.BITS_PER_COLUMN != (self.n + width - 1) // self.BITS_PER_COLUMN:
                self.n = (
                    self.n // self.BITS_PER_COLUMN + 1
                ) * self.BITS_PER_COLUMN  # a group stays in one column
            first = self.n
            self.n += width
            self.keys[key] = first
            self.terms.append((first, term(self._mask(first))))
        return self.keys[key]

    def _mask(self, bit: int) -> int:
        return 1 << (bit % self.BITS_PER_COLUMN)

    def _col(self, bit: int) -> str:
        return f"tx{bit // self.BITS_PER_COLUMN}"

    def test(self, bit: int) -> str:
        return f"(({self._col(bit)} & {self._mask(bit)}) <> 0)"

    def received(self, agents: tuple[str, ...]) -> str:
        if not matching_treatment_agents(agents):
            return "(CASE WHEN treatments IS NULL THEN NULL ELSE FALSE END)"
        a = self._agent_test(agents)
        b = self._alloc(("received", a), 1, lambda m: f"(CASE WHEN {a} THEN {m} ELSE 0 END)")
        return f"(CASE WHEN {self._col(b)} IS NULL THEN NULL ELSE {self.test(b)} END)"

    def progressed_on(self, agents: frozenset[str] | tuple[str, ...], level: str | None = None) -> str:
        """facts.progressed_on: a line is 0 (no), 1 (unknown), 2 (yes if the disease is progressive now, else
        unknown: an ongoing line whose progression is unrecorded) or 3 (yes); the most telling line wins.
        With a dose ``level``, lines at another known level do not count, and an unknown level makes a
        'yes' unknown."""
        x, a = self.X, self._agent_test(tuple(agents))
        if level is None:
            code = f"(CASE WHEN NOT {a} THEN 0 ELSE {x}.pt END)"
        else:
            lv = LEVEL_CODES[level]
            code = (
                f"(CASE WHEN NOT {a} OR ({x}.lv <> 0 AND {x}.lv <> {lv}) THEN 0"
                f" WHEN {x}.lv = 0 THEN least({x}.pt, 1) ELSE {x}.pt END)"
            )
        b = self._alloc(("progressed_on", a, level), 4, lambda m: self.d.shift_left(str(m), code))
        return (
            f"(CASE WHEN {self._col(b)} IS NULL THEN NULL WHEN {self.test(b + 3)} THEN TRUE"
            f" WHEN {self.test(b + 2)} AND disease__status = 'progressive' THEN TRUE"
            f" WHEN {self.test(b + 1)} OR {self.test(b + 2)} THEN NULL ELSE FALSE END)"
        )

    def progressed_after_prior(self) -> str:
        any_line = self._alloc("any_line", 1, lambda m: str(m))
        prog = self._alloc("any_progression", 1, lambda m: f"({self.X}.ap * {m})")
        return (
            f"CASE WHEN {self._col(any_line)} IS NULL THEN NULL WHEN NOT {self.test(any_line)} THEN FALSE"
            f" WHEN {self.test(prog)} THEN TRUE WHEN disease__status = 'progressive' THEN TRUE"
            " WHEN disease__status IS NULL THEN NULL ELSE FALSE END"
        )

    def _features(self) -> str:
        t, per = "t", self.BITS_PER_COLUMN
        signs = f"COALESCE({t}.stop_reason = 'progression', FALSE) OR {t}.progression_date IS NOT NULL"
        fields = []
        for c in range(max(1, (len(self.agent_sets) + per - 1) // per)):
            sets = list(enumerate(self.agent_sets))[c * per : (c + 1) * per]
            arms = " ".join(
                f"WHEN {lit(ag)} THEN {sum(self._mask(i) for i, s in sets if ag in s)}"
                for ag in TREATMENT_AGENT_VALUES
                if any(ag in s for _, s in sets)
            )
            fields.append(
                (
                    f"am{c}",
                    f"CAST(CASE {t}.agent {arms} ELSE 0 END AS BIGINT)" if arms else "CAST(0 AS BIGINT)",
                )
            )
        fields += [
            (
                "pt",
                f"(CASE WHEN {t}.progressed IS FALSE THEN 0 WHEN {t}.progressed OR {signs} THEN 3"
                f" WHEN {t}.end_date IS NULL THEN 2 ELSE 1 END)",
            ),
            ("lv", _ssa_level_code(t)),
            ("ap", f"(CASE WHEN COALESCE({t}.progressed, FALSE) OR {signs} THEN 1 ELSE 0 END)"),
        ]
        return self.d.transform("treatments", (t,), self.d.struct(fields))

    def columns(self) -> list[tuple[str, str]]:
        """The ``tx`` columns: (name, SQL over ``treatments``)."""
        out = []
        for c in range((self.n + self.BITS_PER_COLUMN - 1) // self.BITS_PER_COLUMN):
            terms = [
                f"CAST({term} AS BIGINT)" for first, term in self.terms if first // self.BITS_PER_COLUMN == c
            ]
            per_line = " | ".join(terms) or "CAST(0 AS BIGINT)"
            agg = self.d.list_bit_or(self.d.transform(self._features(), (self.X,), per_line))
            out.append(
                (
                    f"tx{c}",
                    f"CASE WHEN treatments IS NULL THEN NULL ELSE COALESCE({agg}, CAST(0 AS BIGINT)) END",
                )
            )
        return out


# ---------------------------------------------------------------------------------------------
# Conditions
# ---------------------------------------------------------------------------------------------


class ConditionCompiler:
    """Compiles conditions to SQL over a staged relation.

    Leaves (comparisons, history predicates) become named columns of the ``leaves`` stage
    (shared between conditions: the same leaf is computed once); :meth:`expr` then gives
    a node's three-valued value from those columns.
    """

    def __init__(self, d: Dialect, silent_nulls: Mapping[str, str] | None = None) -> None:
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
        return self._compare(c)

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
        ops = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
        if c.op in ops:
            return f"({x} {ops[c.op]} {lit(c.value)})"
        if c.op in ("in", "not_in"):
            return in_expr(x, tuple(c.value), negate=c.op == "not_in")
        raise SqlCompileError(f"unknown operator '{c.op}'")

    def leaf(self, c: Compare | History) -> str:
        sql = self.leaf_sql(c)
        if sql not in self.leaves:
            self.leaves[sql] = f"l{len(self.leaves)}"
        return self.leaves[sql]

    def expr(self, c: Condition | None) -> str:
        """The node's value (TRUE/FALSE/NULL) from the leaf columns; ``None`` (no condition) is TRUE."""
        if c is None:
            return "TRUE"
        if isinstance(c, Compare | History):
            return self.leaf(c)
        if isinstance(c, All):
            return "(" + " AND ".join(self.expr(i) for i in c.items) + ")"
        if isinstance(c, AnyOf):
            return "(" + " OR ".join(self.expr(i) for i in c.items) + ")"
        return f"(NOT {self.expr(c.item)})"

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
        test = is_false if not value else is_true
        arms = " ".join(
            f"WHEN {test(self.expr(k))} THEN {self.decisive_text(k, value, says)}" for k in c.items
        )
        return f"(CASE {arms} END)"


def _values(v: Any) -> tuple[Any, ...]:
    return tuple(v) if isinstance(v, tuple | list) else (v,)
