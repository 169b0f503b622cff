"""The applicable setting (engine/setting.py) as SQL stages over the candidate settings.

Every table column is a candidate; ``v1``, ``v2``, ... say (three-valued) whether its table row and
column hold, ``sure`` and ``cand`` are bit masks of the candidates that surely / possibly apply (the
first of each from a constant list indexed by the mask). From them: ``sst`` the setting status
(0 applies, 1 needs_data, 2 not_applicable, 3 ambiguous), ``tkey`` the candidate whose table is
shown, ``okey`` the candidate whose column gives the options, and ``kfu``: the status of an entry
without a condition, needs_data when the single possible candidate is in doubt because a field it
reads is missing (its options become needs_data), else eligible.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from netcds.cohort.sqltext import case, cte
from netcds.knowledge.schema import Column, Table
from netcds.logic.dialect import Dialect, SqlCompileError

MASK_MAX = 12  # table columns: the first candidate of a mask is a lookup of 2**12 entries


@dataclass(frozen=True)
class Candidate:
    key: int  # 1-based, in table then column order (engine/setting.py's candidate order)
    table: Table
    column: Column
    t: str  # table row value column
    c: str  # the column's value: a column name (or TRUE), or its condition (parenthesized SQL)


def _holds(k: Candidate) -> str:
    """Whether the candidate's table row and column hold (three-valued). A column's condition is
    evaluated only where its table row is not false (most rows are in no table's row criteria)."""
    if re.fullmatch(r"\w+", k.c):
        return f"({k.t} AND {k.c})"
    return f"CASE WHEN {k.t} IS FALSE THEN FALSE ELSE ({k.t} AND {k.c}) END"


def setting_stages(
    d: Dialect, cands: Sequence[Candidate], missing: list[tuple[str, str]], doubt: tuple[str, str]
) -> list[str]:
    """The stages after ``nodes``; ``missing``: (candidate key, SQL TRUE when its unknown table row
    or column names a missing field), a candidate not listed always names one; ``doubt``: the
    status of an entry without a condition with and without the single candidate's doubt (``kfu``)."""
    if len(cands) > MASK_MAX:
        raise SqlCompileError(f"more than {MASK_MAX} table columns: the setting lookup would be too large")
    # CASEs (a selection each) cost less than casting the three-valued tests and multiplying (measured)
    sure = " + ".join(f"(CASE WHEN v{k.key} THEN {1 << (k.key - 1)} ELSE 0 END)" for k in cands)
    cand = " + ".join(f"(CASE WHEN NOT v{k.key} THEN 0 ELSE {1 << (k.key - 1)} END)" for k in cands)
    table_masks: dict[str, int] = {}
    for k in cands:
        table_masks[k.table.id] = table_masks.get(k.table.id, 0) | (1 << (k.key - 1))
    n_tables = " + ".join(f"CAST((cand & {m}) <> 0 AS INTEGER)" for m in table_masks.values())
    first = d.array(["NULL"] + [str((m & -m).bit_length()) for m in range(1, 1 << len(cands))])
    return [
        cte(
            "setting0",
            "nodes",
            [(f"v{k.key}", _holds(k)) for k in cands],
            {f"v{k.key}": f"{k.table.id}/{k.column.id or ''}" for k in cands},
        ),
        cte("setting1", "setting0", [("sure", f"({sure})"), ("cand", f"({cand})")]),
        cte(
            "setting2",
            "setting1",
            [
                ("n_sure", "bit_count(sure)"),
                ("n_cand", "bit_count(cand)"),
                ("sure_key", d.list_at(first, "sure + 1")),
                ("cand_key", d.list_at(first, "cand + 1")),
            ],
        ),
        cte(
            "setting",
            "setting2",
            [
                (
                    "sst",
                    "CASE WHEN n_sure > 1 THEN 3 WHEN n_sure = 1 THEN 0 WHEN n_cand > 0 THEN 1 ELSE 2 END",
                ),
                (
                    "tkey",
                    # the number of tables with a possible candidate, only where no candidate is sure
                    "CASE WHEN n_sure > 1 THEN NULL WHEN n_sure = 1 THEN sure_key"
                    f" WHEN n_cand = 1 OR ({n_tables}) = 1 THEN cand_key END",
                ),
                (
                    "okey",
                    "CASE WHEN n_sure > 1 THEN NULL WHEN n_sure = 1 THEN sure_key"
                    " WHEN n_cand = 1 THEN cand_key END",
                ),
                (
                    "kfu",
                    # a CASE, not AND: only the single-candidate rows evaluate the missing-field test
                    f"CASE WHEN n_sure = 0 AND n_cand = 1 THEN (CASE WHEN {case(missing, 'TRUE', 'cand_key')}"
                    f" THEN {doubt[0]} ELSE {doubt[1]} END) ELSE {doubt[1]} END",
                ),
            ],
        ),
    ]
