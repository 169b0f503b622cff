"""The cohort SQL derives the grade of a lung/thymus carcinoid of < 2 mitoses/2 mm² with necrosis not
recorded (no grade or subtype recorded) as the engine does (session 29): unknown (NULL), known to be G1
or G2 (DERIVED_SQL ``among``), so ``in [G1, G2]`` is TRUE, ``eq G3`` FALSE, ``eq G1`` NULL naming the
fields grading.py names; the differentiation is still well. Compared with the engine on DuckDB and Spark:
the values (and what decided them) and missing fields of conditions over the grade, and the audit, over
tests/cohort/test_among29.py's lung/thymus decision points and tests/cohort/helpers.py's thoracic grading
records (every field that could grade a tumor, crossed).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from netcds.cohort.derived_sql import AMONG, DERIVED_SQL
from netcds.cohort.query import conditions_sql
from netcds.cohort.verdict import decisive
from netcds.facts import build_facts
from netcds.knowledge.schema import Knowledge
from netcds.logic.ast import Condition, parse_condition
from netcds.logic.evaluate import settle
from netcds.patient import Patient

from .helpers import Query, check_on_duckdb, check_on_spark, conditions_missing_sql, thoracic_grading_records
from .test_among29 import lung_records

G = "derived.grade"
TYPICAL = {"fact": "derived.lung_subtype", "eq": "typical_carcinoid"}
ATYPICAL = {"fact": "derived.lung_subtype", "eq": "atypical_carcinoid"}
BURDEN = {"fact": "derived.burden_significant", "is": True}
CONDITIONS: dict[str, Condition] = {
    k: parse_condition(v)
    for k, v in {
        "g1": {"fact": G, "eq": "G1"},
        "g2": {"fact": G, "eq": "G2"},
        "g3": {"fact": G, "eq": "G3"},
        "g12": {"fact": G, "in": ["G1", "G2"]},
        "not_g3": {"fact": G, "ne": "G3"},
        "well": {"fact": "derived.differentiation", "eq": "well"},
        "poor": {"fact": "derived.differentiation", "eq": "poor"},
        "g1_or_g2": {"any": [{"fact": G, "eq": "G1"}, {"fact": G, "eq": "G2"}]},  # decided by trials
        "g1_and_g2": {"all": [{"fact": G, "eq": "G1"}, {"fact": G, "eq": "G2"}]},
        "table_row": {
            "all": [
                {"fact": "derived.differentiation", "eq": "well"},
                {"fact": "derived.lung_subtype", "in": ["typical_carcinoid", "atypical_carcinoid"]},
                {"fact": G, "in": ["G1", "G2"]},
            ]
        },
        "g1_typical": {"any": [{"all": [{"fact": G, "eq": "G1"}, TYPICAL]}, ATYPICAL]},  # open
        "burden_g1": {"any": [{"all": [BURDEN, {"fact": G, "eq": "G1"}]}, {"fact": G, "eq": "G2"}]},
    }.items()
}


def poor_records() -> list[dict[str, Any]]:
    """Poorly differentiated lung/thymus records of < 2 mitoses (G1 or G2 derived: a conflict to check)."""
    out = []
    for site in ("lung", "thymus"):
        for necrosis in (None, False, True):
            for ki67 in (None, 40.0):
                tumor = {"primary_site": site, "differentiation": "poor", "mitoses_per_2mm2": 1.0}
                tumor |= {k: v for k, v in (("necrosis", necrosis), ("ki67_percent", ki67)) if v is not None}
                disease = {"extent": "distant_metastatic", "status": "progressive"}
                out.append(
                    {
                        "tumor": tumor,
                        "disease": disease,
                        "decision": {"date": "2024-06-01", "regimen": "everolimus"},
                    }
                )
    return out


def records() -> list[dict[str, Any]]:
    return lung_records() + thoracic_grading_records() + poor_records()


def _facts(rec: dict[str, Any]) -> Any:
    return build_facts(Patient.model_validate({k: v for k, v in rec.items() if k != "decision"}))


def engine_values(recs: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    out = {}
    for i, rec in enumerate(recs, start=1):
        f = _facts(rec)
        row: dict[str, Any] = {}
        for k, c in CONDITIONS.items():
            value, missing = settle(c, f)
            row[k] = value
            row[f"{k}__why"] = None if value is None else decisive(c, value, f)
            row[f"{k}__missing"] = sorted(set(missing)) if value is None else None
        out[i] = row
    return out


def missing_sql(d: str) -> str:
    """``conditions_sql`` (values and what decided them) plus each condition's missing fields."""
    return conditions_missing_sql(d, CONDITIONS)


def compare(values: list[dict[str, Any]], missing: list[dict[str, Any]], recs: list[dict[str, Any]]) -> None:
    want = engine_values(recs)
    got: dict[int, dict[str, Any]] = {int(r["row_id"]): dict(r) for r in values}
    for r in missing:
        for k in CONDITIONS:
            m = r[f"{k}__missing"]
            got[int(r["row_id"])][f"{k}__missing"] = None if m is None else sorted(m)
    for row in want.values():  # a known node names no missing field (the SQL gives none either)
        for k in CONDITIONS:
            if row[k] is not None:
                row[f"{k}__missing"] = None
    for i in got:
        for k in CONDITIONS:
            if got[i][k] is not None:
                got[i][f"{k}__missing"] = None
    bad = [
        (i, k, got[i][k], want[i][k], recs[i - 1]["tumor"])
        for i in want
        for k in want[i]
        if got[i][k] != want[i][k]
    ]
    assert not bad, bad[:5]


def test_grade_carries_the_same_among_test_as_the_subtype() -> None:
    where, values = AMONG[G]
    assert values == ("G1", "G2")
    # the same unsettled records (typical or atypical, G1 or G2), and since session 38 each also holds the
    # records whose recorded subtype or grade the morphology contradicts (typical against atypical)
    unsettled = "tumor__mitoses_per_2mm2 < 2.0 AND tumor__necrosis IS NULL AND tumor__grade IS NULL"
    assert unsettled in where and unsettled in AMONG["derived.lung_subtype"][0]
    assert "'typical_carcinoid'" in where and "'typical_carcinoid'" in AMONG["derived.lung_subtype"][0]
    assert set(DERIVED_SQL["derived.differentiation"].reads) >= {"tumor__necrosis", "tumor__mitoses_per_2mm2"}


def test_the_batch_reaches_the_among_grade() -> None:
    values = engine_values(records())
    among = [v for v in values.values() if v["g12"] is True and v["g1"] is None]
    assert among and all(v["g3"] is False and v["g1_or_g2"] is True for v in among)
    assert all(v["well"] is True for v in among if v["poor"] is not True)  # well either way
    assert any(v["g1_typical"] is None for v in among)  # a combination the record rules out: left open
    unsettled = [
        v for v in among if v["g1__missing"] == ["tumor.grade", "tumor.lung_subtype", "tumor.necrosis"]
    ]
    assert unsettled
    # the others are records whose recorded grade or subtype the morphology contradicts (session 38): they
    # name the recorded morphology too
    assert all(
        v in unsettled or {"tumor.mitoses_per_2mm2", "tumor.necrosis"} & set(v["g1__missing"]) for v in among
    )
    assert any(v["poor"] is True and v["g1"] is None for v in values.values())  # poor, < 2 mitoses


def _values_and_missing_agree(dialect_name: str, recs: list[dict[str, Any]]) -> Callable[[Query], None]:
    def check(query: Query) -> None:
        values = query(conditions_sql(CONDITIONS, dialect_name, explain=True) + " ORDER BY row_id")
        compare(values, query(missing_sql(dialect_name)), recs)

    return check


def test_duckdb_equals_engine(kb: Knowledge, tmp_path: Path) -> None:
    recs = records()
    check_on_duckdb(recs, kb, tmp_path, _values_and_missing_agree("duckdb", recs))


def test_spark_equals_engine(spark_engine: Any, kb: Knowledge) -> None:
    recs = records()
    check_on_spark(spark_engine, recs, kb, _values_and_missing_agree("spark", recs))
