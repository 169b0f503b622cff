"""HistoryBits' cheap treatment-line features (logic/sql.py) give exactly the flags of the plain
tabulation they replaced (every agent, CASE-coded states; kept here as the reference), for every agent
and every progression, dose and interval state."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import duckdb

from netcds.cohort.query import AuditQuery
from netcds.knowledge.schema import Knowledge
from netcds.logic.sql import (
    EDGES,
    MAX_INTERVAL,
    MIN_INTERVAL,
    TREATMENT_AGENT_VALUES,
    ConditionCompiler,
    Dialect,
    HistoryBits,
    dialect,
)


class PlainHistoryBits(HistoryBits):
    """The reference: every agent looked up, the states coded by CASE (the features before they were
    made cheaper)."""

    def _features(self, t: str) -> list[tuple[list[dict[str, Any]], str]]:
        signs = (
            f"COALESCE({t}.stop_reason = 'progression', FALSE) OR {t}.progression_date IS NOT NULL"
            f" OR COALESCE({t}.best_response = 'PD', FALSE)"
        )
        feats: list[tuple[list[dict[str, Any]], str]] = []
        if "agent" in self.reads:
            agents = [None, *TREATMENT_AGENT_VALUES]
            feats.append(
                ([{"agent": a} for a in agents], self.d.position(TREATMENT_AGENT_VALUES, f"{t}.agent"))
            )
        if self.reads & {"pt", "ap"}:
            pa = [(0, 0), (0, 1), (1, 0), (2, 0), (3, 1)]
            sql = (
                f"(CASE WHEN {t}.progressed IS FALSE THEN CAST({signs} AS INTEGER)"
                f" WHEN {t}.progressed OR {signs} THEN 4"
                f" WHEN {t}.end_date IS NULL AND {t}.start_date < progression_assessed_on THEN 3 ELSE 2 END)"
            )
            feats.append(([{"pt": pt, "ap": ap} for pt, ap in pa], sql))
        if "lv" in self.reads:
            passed = " + ".join(
                f"CAST({t}.dose_mg {'>' if strict else '>='} {v!r} AS INTEGER)" for v, strict in EDGES
            )
            feats.append(([{"ds": v} for v in range(len(EDGES) + 2)], f"COALESCE(1 + {passed}, 0)"))
            interval = (
                f"(CASE WHEN {t}.interval_days IS NULL THEN 0 WHEN {t}.interval_days < {MIN_INTERVAL!r} THEN 2"
                f" WHEN {t}.interval_days > {MAX_INTERVAL!r} THEN 3 ELSE 1 END)"
            )
            feats.append(([{"is": v} for v in range(4)], interval))
        return feats


def plain_compiler(d: Dialect) -> ConditionCompiler:
    cc = ConditionCompiler(d)
    cc.bits = PlainHistoryBits(d)
    return cc


def _bits_sql(cc: ConditionCompiler) -> str:
    over_lines, over_positions = cc.bits.columns()
    cols = over_lines + over_positions
    assert len(cols) == 1
    return cols[0][1]


def test_lean_features_give_the_same_flags(kb: Knowledge) -> None:
    d = dialect("duckdb")
    query = AuditQuery(kb, d)
    query.sql()  # registers every history predicate of the knowledge
    reference, lean = plain_compiler(d), ConditionCompiler(d)
    for cc in (reference, lean):  # the same predicates, in the same bit order
        cc.bits.terms = list(query.cc.bits.terms)
        cc.bits.keys = dict(query.cc.bits.keys)
        cc.bits.n = query.cc.bits.n
        cc.bits.reads = set(query.cc.bits.reads)
    values = {  # every agent x every state a line feature tells apart, around each cut point
        "agent": [None, *TREATMENT_AGENT_VALUES],
        "progressed": [True, False, None],
        "stop_reason": ["progression", "toxicity", None],
        "progression_date": [date(2024, 1, 1), None],
        "best_response": ["PD", "SD", None],
        "end_date": [date(2024, 2, 1), None],
        "start_date": [date(2023, 6, 1), date(2023, 9, 1), None],  # before, on and without the PD date
        "dose_mg": [None, 10.0, 19.9, 20.0, 29.9, 30.0, 30.1, 119.5, 120.0, 120.5],
        "interval_days": [None, 25.9, 26.0, 28.0, 35.0, 35.1],
    }
    con = duckdb.connect()
    lines = " CROSS JOIN ".join(f"(SELECT unnest(${k}) AS {k})" for k in values)
    one = ", ".join(f"{k} := {k}" for k in values)
    con.execute(
        f"CREATE TABLE decisions AS SELECT [struct_pack({one})] AS treatments, pd AS progression_assessed_on"
        f" FROM {lines} CROSS JOIN (SELECT unnest([DATE '2023-09-01', NULL]) AS pd)"
        " UNION ALL SELECT [], NULL UNION ALL SELECT NULL, NULL",
        values,
    )
    got = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE ({_bits_sql(reference)}) IS DISTINCT FROM"
        f" ({_bits_sql(lean)})) FROM decisions"
    ).fetchone()
    assert got == (2 * math.prod(len(v) for v in values.values()) + 2, 0)
    assert 0 < len(lean.bits._telling_agents()) < len(TREATMENT_AGENT_VALUES)
