"""The fact stages every cohort query starts with: ``base``, ``derived1``, ``derived2``, ``leaves``.

``base`` reads the canonical columns the knowledge needs (enum words meaning "unknown" -> NULL, as
``facts.flatten``), the treatment history packed into bit flags (``tx0``...,
:class:`netcds.logic.sql.HistoryBits`) and any extra columns; ``derived1``/``derived2`` add the
derived facts (cohort/derived_sql.py); ``leaves`` adds every distinct comparison or history
predicate once (``l0``, ``l1``, ...).
"""

from __future__ import annotations

from netcds.cohort.derived_sql import DERIVED_SQL, derived_closure
from netcds.cohort.layout import canonical_columns
from netcds.cohort.sqltext import cte
from netcds.logic.sql import ConditionCompiler
from netcds.vocabulary import fact_specs

PASSED_THROUGH = ("row_id", "patient_id", "decision_date", "decision_regimen")


def fact_stages(cc: ConditionCompiler, source: str, extra: list[str] | None = None) -> list[str]:
    """The ``base``, ``derived1``, ``derived2`` and ``leaves`` CTEs for everything ``cc`` compiled."""
    derived = derived_closure({f for f in cc.facts if f.startswith("derived.")})
    stages = {}
    for stage in (1, 2):
        cols = [
            (n.replace(".", "__"), DERIVED_SQL[n].expr(cc.d, cc.bits))
            for n in derived
            if DERIVED_SQL[n].stage == stage
        ]
        stages[stage] = cte(f"derived{stage}", "base" if stage == 1 else "derived1", cols)
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
    lines += [f"    {expr} AS {name}" for name, expr in cc.bits.columns()]
    lines += [f"    {e}" for e in extra or []]
    base = "base AS (\n  SELECT\n" + ",\n".join(lines) + f"\n  FROM {source}\n)"
    leaves = cte("leaves", "derived2", [(name, sql) for sql, name in cc.leaves.items()])
    return [base, stages[1], stages[2], leaves]
