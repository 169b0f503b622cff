"""The audit's cheaper treatment-line features (cohort/history_sql.py) give exactly the flags of
logic/sql.py's HistoryBits, for every agent and every progression, dose and interval state."""

from __future__ import annotations

import math
from datetime import date

import duckdb

from netcds.cohort.history_sql import compiler
from netcds.cohort.query import AuditQuery
from netcds.knowledge.schema import Knowledge
from netcds.logic.sql import TREATMENT_AGENT_VALUES, ConditionCompiler, dialect


def _bits_sql(cc: ConditionCompiler) -> str:
    cols = cc.bits.columns()
    assert len(cols) == 1
    return cols[0][1]


def test_lean_features_give_the_same_flags(kb: Knowledge) -> None:
    d = dialect("duckdb")
    query = AuditQuery(kb, d)
    query.sql()  # registers every history predicate of the knowledge
    reference, lean = ConditionCompiler(d), compiler(d)
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
        "end_date": [date(2024, 2, 1), None],
        "dose_mg": [None, 29.9, 30.0, 30.1, 120.0, 120.5],
        "interval_days": [None, 25.9, 26.0, 28.0],
    }
    con = duckdb.connect()
    lines = " CROSS JOIN ".join(f"(SELECT unnest(${k}) AS {k})" for k in values)
    one = ", ".join(f"{k} := {k}" for k in values)
    con.execute(
        f"CREATE TABLE decisions AS SELECT [struct_pack({one})] AS treatments FROM {lines}"
        " UNION ALL SELECT [] UNION ALL SELECT NULL",
        values,
    )
    got = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE ({_bits_sql(reference)}) IS DISTINCT FROM"
        f" ({_bits_sql(lean)})) FROM decisions"
    ).fetchone()
    assert got == (math.prod(len(v) for v in values.values()) + 2, 0)
    assert 0 < len(lean.bits._telling_agents()) < len(TREATMENT_AGENT_VALUES)  # type: ignore[attr-defined]
