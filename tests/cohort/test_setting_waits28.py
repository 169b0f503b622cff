"""The setting waits only for data that can change it (session-28 clinical review), in SQL as in the engine.

Disease not resectable is advanced whatever its unrecorded extent (facts._advanced), and a lung carcinoid
with < 2 mitoses/2 mm² and necrosis not recorded is typical or atypical either way (Derived.among:
"typical or atypical carcinoid" holds, "typical" / "atypical" wait for the necrosis). The derived facts,
the conditions over them, the verdicts and what a needs_data verdict waits for are compared with the
engine on DuckDB and Spark, over every extent and resectability and every mitoses / necrosis / grade
state of a lung primary.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from netcds.cohort.query import conditions_sql
from netcds.facts import build_facts
from netcds.knowledge.schema import Knowledge
from netcds.logic.ast import parse_condition
from netcds.logic.evaluate import settle
from netcds.patient import Patient

from .helpers import Query, check_on_duckdb, check_on_spark

CARCINOID = ["typical_carcinoid", "atypical_carcinoid"]
CONDITIONS = {
    "advanced": {"fact": "derived.advanced", "is": True},
    "lra": {"fact": "derived.locoregional_advanced", "is": True},
    "carcinoid": {"fact": "derived.lung_subtype", "in": CARCINOID},
    "not_carcinoid": {"fact": "derived.lung_subtype", "not_in": CARCINOID},
    "typical": {"fact": "derived.lung_subtype", "eq": "typical_carcinoid"},
    "not_atypical": {"fact": "derived.lung_subtype", "ne": "atypical_carcinoid"},
}
PARSED = {k: parse_condition(v) for k, v in CONDITIONS.items()}


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def gi_records() -> list[dict[str, Any]]:
    """An ileal WD G2 NET (or a WD G3 one with favorable biology) at every extent and resectability."""
    out = []
    for extent, resectable, grade, regimen in itertools.product(
        (None, "localized", "locoregional", "distant_metastatic"),
        (None, True, False),
        ("G2", "G3"),
        ("everolimus", "rt_fluoropyrimidine", "cabozantinib"),
    ):
        tumor = {"primary_site": "ileum", "differentiation": "well", "grade": grade, "functional": False}
        disease = _drop_none(
            {
                "extent": extent,
                "resectable": resectable,
                "status": "progressive",
                "progression_clinically_significant": True,
                "small_bowel_mesenteric": False,
                "biology": "favorable" if grade == "G3" else None,
            }
        )
        rec = {"tumor": tumor | {"sstr_status": "positive"}, "disease": disease, "treatments": []}
        out.append({**rec, "decision": {"date": "2025-01-01", "regimen": regimen}})
    return out


def lung_records() -> list[dict[str, Any]]:
    """A distant metastatic lung primary at every mitoses / necrosis / grade / differentiation state."""
    out = []
    for mitoses, necrosis, grade, diff, (burden, status), regimen in itertools.product(
        (None, 1, 3, 12),
        (None, True, False),
        (None, "G3"),
        ("well", None),
        (("clinically_significant", "stable"), ("mild", "progressive"), ("mild", "stable")),
        ("everolimus", "carboplatin_etoposide"),
    ):
        tumor = _drop_none(
            {
                "primary_site": "lung",
                "differentiation": diff,
                "grade": grade,
                "mitoses_per_2mm2": mitoses,
                "necrosis": necrosis,
                "functional": False,
                "hormonal_symptoms": False,
                "sstr_status": "positive",
                "proliferation_high_end": True,
            }
        )
        disease = {"extent": "distant_metastatic", "tumor_burden": burden, "status": status}
        disease |= {"tumor_symptoms": False}
        rec = {"tumor": tumor, "disease": disease, "treatments": []}
        try:
            Patient.model_validate(rec)
        except ValueError:
            continue
        out.append({**rec, "decision": {"date": "2025-01-01", "regimen": regimen}})
    return out


def records() -> list[dict[str, Any]]:
    poor = {
        "tumor": {"primary_site": "pancreas", "differentiation": "poor", "ki67_percent": 1},
        "disease": {"extent": "distant_metastatic", "status": "progressive"},
        "treatments": [],
        "decision": {"date": "2025-01-01", "regimen": "everolimus"},
    }
    return [*gi_records(), *lung_records(), poor]


def engine_values(recs: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    out = {}
    for i, rec in enumerate(recs, start=1):
        f = build_facts(Patient.model_validate({k: v for k, v in rec.items() if k != "decision"}))
        out[i] = {k: settle(c, f)[0] for k, c in PARSED.items()}
    return out


def sql_values(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {int(r["row_id"]): {k: r[k] for k in PARSED} for r in rows}


def check_reach(recs: list[dict[str, Any]]) -> None:
    """The batch holds both review cases: advanced with the extent unrecorded, and a carcinoid of either
    subtype (the condition known, the subtype not)."""
    values = engine_values(recs)
    facts = [
        build_facts(Patient.model_validate({k: v for k, v in r.items() if k != "decision"})) for r in recs
    ]
    assert any(
        v["advanced"] and f.get("disease.extent") is None for v, f in zip(values.values(), facts, strict=True)
    )
    assert any(
        v["carcinoid"] and v["typical"] is None and f.get("derived.lung_subtype") is None
        for v, f in zip(values.values(), facts, strict=True)
    )


def test_batch_reaches_both_cases() -> None:
    check_reach(records())


def _conditions_agree(dialect_name: str, recs: list[dict[str, Any]]) -> Callable[[Query], None]:
    def check(query: Query) -> None:
        assert sql_values(query(conditions_sql(PARSED, dialect_name) + " ORDER BY row_id")) == engine_values(
            recs
        )

    return check


def test_duckdb_equals_engine(kb: Knowledge, tmp_path: Path) -> None:
    recs = records()
    check_on_duckdb(recs, kb, tmp_path, _conditions_agree("duckdb", recs))


def test_spark_equals_engine(spark_engine: Any, kb: Knowledge) -> None:
    recs = records()
    check_on_spark(spark_engine, recs, kb, _conditions_agree("spark", recs))
