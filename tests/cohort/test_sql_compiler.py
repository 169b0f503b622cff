"""The condition compiler alone: random condition trees over the whole fact vocabulary give, in SQL,
exactly the per-patient evaluator's three-valued result and the same words for what decided it."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from netcds.cohort.query import conditions_sql
from netcds.cohort.run_duckdb import DuckDBEngine
from netcds.cohort.verdict import decisive
from netcds.facts import build_facts
from netcds.logic.ast import Condition, parse_condition
from netcds.logic.evaluate import evaluate
from netcds.logic.sql import SqlCompileError, dialect, in_expr
from netcds.patient import Patient
from netcds.vocabulary import fact_specs

from .helpers import canonical_rows, generated_records, write_canonical

NUMBERS = {
    "tumor.ki67_percent": [3, 20, 55],
    "tumor.mitoses_per_2mm2": [2, 10, 20],
    "biomarkers.tmb_mut_per_mb": [10],
}
AGENTS = [
    "octreotide_lar",
    "lanreotide",
    "everolimus",
    "lu177_dotatate",
    "sunitinib",
    "ssa",
    "folfox",
    "capecitabine_temozolomide",
    "temozolomide",
    "cisplatin",
]


def _leaf(rng: random.Random) -> dict[str, Any]:
    specs = [
        s
        for s in fact_specs().values()
        if s.path.split(".")[0] in ("tumor", "disease", "biomarkers", "context", "derived")
    ]
    if rng.random() < 0.15:
        op = rng.choice(["received", "progressed_on"])
        return {op: rng.sample(AGENTS, rng.randint(1, 3))}
    s = rng.choice(specs)
    if s.kind == "bool":
        return {"fact": s.path, "is": rng.random() < 0.7}
    if s.kind == "number":
        return {
            "fact": s.path,
            rng.choice(["gt", "ge", "lt", "le", "eq"]): float(rng.choice(NUMBERS.get(s.path, [1]))),
        }
    if s.kind == "list" and s.values:
        return {"fact": s.path, "contains": rng.choice(s.values)}
    if s.kind == "enum":
        op = rng.choice(["eq", "ne", "in", "not_in"])
        if op in ("in", "not_in"):
            return {"fact": s.path, op: rng.sample(list(s.values), rng.randint(1, len(s.values)))}
        return {"fact": s.path, op: rng.choice(s.values)}
    return _leaf(rng)


def _tree(rng: random.Random, depth: int) -> dict[str, Any]:
    if depth == 0 or rng.random() < 0.3:
        node = _leaf(rng)
    else:
        kind = rng.choice(["all", "any", "not"])
        node = (
            {"not": _tree(rng, depth - 1)}
            if kind == "not"
            else {kind: [_tree(rng, depth - 1) for _ in range(rng.randint(1, 4))]}
        )
    if rng.random() < 0.3:
        node["says"] = f"worded {rng.randint(0, 999)}"
    return node


@pytest.fixture(scope="module")
def conditions() -> dict[str, Condition]:
    rng = random.Random(20240607)
    return {f"c{i}": parse_condition(_tree(rng, 4)) for i in range(250)}


def test_random_conditions_match_the_evaluator(conditions: dict[str, Condition], tmp_path: Path) -> None:
    records = generated_records(600)
    engine = DuckDBEngine(threads=2)
    try:
        engine.load_canonical(write_canonical(canonical_rows(records), tmp_path / "c.ndjson"))
        rows = engine.query(conditions_sql(conditions, explain=True) + " ORDER BY row_id")
    finally:
        engine.close()
    seen = {True: 0, False: 0, None: 0}
    for row, rec in zip(rows, records, strict=True):
        facts = build_facts(Patient.model_validate({k: v for k, v in rec.items() if k != "decision"}))
        for name, c in conditions.items():
            want = evaluate(c, facts).value
            seen[want] += 1
            assert row[name] is want, f"{name} row {row['row_id']}: sql={row[name]} engine={want}"
            why = decisive(c, want, facts) if want is not None else None
            assert row[f"{name}__why"] == why, f"{name} row {row['row_id']}"
    assert min(seen.values()) > 10_000  # every truth value is well exercised


def test_in_lists_keep_three_valued_semantics() -> None:
    assert in_expr("x", ("a", "b")) == "(x IN ('a', 'b'))"
    long = in_expr("x", ("a", "b", "c", "d"), negate=True)
    assert long == "(NOT (x = 'a' OR x = 'b' OR x = 'c' OR x = 'd'))"


def test_spark_and_duckdb_spell_the_differences() -> None:
    duck, spark = dialect("duckdb"), dialect("spark")
    assert "lambda t:" in duck.transform("treatments", ("t",), "t.agent")
    assert "t -> t.agent" in spark.transform("treatments", ("t",), "t.agent")
    assert "aggregate(" in spark.list_bit_or("l") and "bit_or" in duck.list_bit_or("l")
    with pytest.raises(ValueError, match="unknown SQL dialect"):
        dialect("oracle")


def test_untranslatable_forms_are_refused_by_name() -> None:
    from netcds.logic.ast import Compare
    from netcds.logic.sql import ConditionCompiler

    cc = ConditionCompiler(dialect("duckdb"))
    with pytest.raises(SqlCompileError, match="medications"):
        cc.expr(Compare("medications", "eq", "x"))  # a list compared as a scalar: no faithful SQL
