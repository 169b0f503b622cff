"""The fact stages every cohort query starts with: ``base``, ``derived1``, ``derived2``, ``leaves``.

``base`` reads the canonical columns the knowledge needs (enum words meaning "unknown" -> NULL, as
``facts.flatten``), the treatment history packed into bit flags (``tx0``...,
:class:`netcds.logic.sql.HistoryBits`) and any extra columns (where each line's position in the line table
is kept, ``tl``, a ``history`` stage reads the flags from it); ``derived1``/``derived2`` add the
derived facts (cohort/derived_sql.py); ``leaves`` adds every distinct comparison or history
predicate once (``l0``, ``l1``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from netcds.cohort.derived_sql import DERIVED_SQL, derived_closure
from netcds.cohort.layout import canonical_columns
from netcds.cohort.sqltext import cte
from netcds.logic.sql import ConditionCompiler
from netcds.vocabulary import fact_specs

PASSED_THROUGH = ("row_id", "patient_id", "decision_date", "decision_regimen")


_NAME = re.compile(r"'(?:[^']|'')*'|\b([a-z]\w*)\b")  # a quoted literal, or a name


def substitute(sql: str, exprs: Mapping[str, str]) -> str:
    """``sql`` with every column name of ``exprs`` replaced by its expression (not inside literals)."""
    return _NAME.sub(lambda m: f"({exprs[m[1]]})" if m[1] in exprs else m[0], sql)


def names_in(sql: str) -> set[str]:
    """The names ``sql`` refers to (literals skipped)."""
    return {m[1] for m in _NAME.finditer(sql) if m[1]}


def register_history(cc: ConditionCompiler) -> None:
    """Register the history predicates the derived facts read (idempotent), so that every predicate is
    known before a table over the treatment lines is written (HistoryBits.line_table)."""
    for n in derived_closure({f for f in cc.facts if f.startswith("derived.")}):
        DERIVED_SQL[n].expr(cc.d, cc.bits)


def fact_stages(
    cc: ConditionCompiler, source: str, extra: list[str] | None = None, inline: frozenset[str] = frozenset()
) -> tuple[list[str], dict[str, str]]:
    """The ``base``, ``derived1``, ``derived2`` and ``leaves`` CTEs for everything ``cc`` compiled.

    The leaves named in ``inline`` are left out of ``leaves`` and returned as expressions (name -> SQL)
    to be written where they are read, together with the derived facts only they read: a leaf read
    by the rows of one branch of a later CASE is then computed only for those rows."""
    derived = derived_closure({f for f in cc.facts if f.startswith("derived.")})
    exprs = {n.replace(".", "__"): DERIVED_SQL[n].expr(cc.d, cc.bits) for n in derived}
    kept_leaves = [(name, sql) for sql, name in cc.leaves.items() if name not in inline]
    kept_reads: set[str] = set().union(*(names_in(sql) for _, sql in kept_leaves))
    for name in reversed(list(exprs)):  # stage 2 first: what a kept fact reads is kept
        if name in kept_reads:
            kept_reads |= names_in(exprs[name])
    lazy = {n: e for n, e in exprs.items() if n not in kept_reads}
    for n in lazy:  # a lazy fact may read another lazy fact (stage 2 reads stage 1)
        lazy[n] = substitute(lazy[n], {k: v for k, v in lazy.items() if k != n})
    over_lines, history = cc.bits.columns()  # the history flags read from each line's position, if kept
    first = "history" if history else "base"
    stages = {}
    for stage in (1, 2):
        cols = [
            (n.replace(".", "__"), exprs[n.replace(".", "__")])
            for n in derived
            if DERIVED_SQL[n].stage == stage and n.replace(".", "__") not in lazy
        ]
        stages[stage] = cte(f"derived{stage}", first if stage == 1 else "derived1", cols)
    reads = {c for n in derived for c in DERIVED_SQL[n].reads if not c.startswith("derived__")}
    raw = {f.replace(".", "__") for f in cc.facts if not f.startswith("derived.")}
    need = reads | raw | {"tumor__primary_site"}
    specs = fact_specs()
    lines: list[str] = []
    for column in canonical_columns():
        if column.name in PASSED_THROUGH:
            lines.append(f"    {column.name}")
        elif column.name in need:
            spec = specs.get(column.path or "")
            if spec is not None and (spec.kind == "text" or "unknown" in spec.values):
                # facts.flatten: the word 'unknown' is UNKNOWN
                lines.append(f"    nullif({column.name}, 'unknown') AS {column.name}")
            else:
                lines.append(f"    {column.name}")
    lines += [f"    {expr} AS {name}" for name, expr in over_lines]
    lines += [f"    {e}" for e in extra or []]
    base = "base AS (\n  SELECT\n" + ",\n".join(lines) + f"\n  FROM {source}\n)"
    leaves = cte("leaves", "derived2", kept_leaves)
    inlined = {name: substitute(sql, lazy) for sql, name in cc.leaves.items() if name in inline}
    staged = [base, cte("history", "base", history)] if history else [base]
    return [*staged, stages[1], stages[2], leaves], inlined
