"""A record that disagrees with itself about the grade (session 38) in the cohort SQL, against facts.py.

Digestive: a recorded grade across the G1/2 vs G3 line from its measures (grading._crossing;
cohort/derived_sql.py ``_CROSSING``). Lung/thymus: a recorded subtype or grade the mitoses and necrosis
contradict (grading.thoracic_disagreement, _thoracic_grade_disagreement; ``SUBTYPE_OFF``, ``GRADE_OFF``).
Every recorded grade and subtype (and none) against measures at and around the cut-points (and
unrecorded): each grade, subtype and differentiation condition's value, and the fields it names when
unknown, equal the engine's, on DuckDB and Spark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netcds.facts import build_facts
from netcds.knowledge.schema import Knowledge
from netcds.logic.ast import Condition, parse_condition
from netcds.logic.evaluate import settle
from netcds.patient import Patient
from tests.conftest import gi

from .helpers import check_on_duckdb, check_on_spark, engine_agreement

CONDITIONS: dict[str, Condition] = {
    k: parse_condition(c)
    for k, c in {
        "g12": {"fact": "derived.grade", "in": ["G1", "G2"]},
        "g3": {"fact": "derived.grade", "eq": "G3"},
        "g1": {"fact": "derived.grade", "eq": "G1"},
        "well": {"fact": "derived.differentiation", "eq": "well"},
        "typical": {"fact": "derived.lung_subtype", "eq": "typical_carcinoid"},
        "carcinoid": {"fact": "derived.lung_subtype", "in": ["typical_carcinoid", "atypical_carcinoid"]},
        "row": {
            "any": [
                {"fact": "derived.lung_subtype", "eq": "atypical_carcinoid"},
                {"fact": "derived.burden_significant", "is": True},
            ]
        },
    }.items()
}


def records() -> list[dict[str, Any]]:
    out = []
    for site in ("ileum", "pancreas", "lung"):
        for grade in (None, "G1", "G2", "G3"):
            for ki67 in (None, 2.5, 20, 20.5, 40):
                for mitoses in (None, 1, 20, 21):
                    rec = gi()
                    rec["tumor"] = {
                        "primary_site": site,
                        "functional": False,
                        "sstr_status": "positive",
                        **({"grade": grade} if grade else {}),
                        **({"ki67_percent": ki67} if ki67 is not None else {}),
                        **({"mitoses_per_2mm2": mitoses} if mitoses is not None else {}),
                    }
                    rec["decision"] = {"date": "2025-04-01", "regimen": "everolimus"}
                    out.append(rec)
    for subtype in (None, "typical_carcinoid", "atypical_carcinoid"):
        for grade in (None, "G1", "G2", "G3"):
            for mitoses in (None, 1, 5, 10, 12):
                for necrosis in (None, True, False):
                    rec = gi()
                    rec["tumor"] = {
                        "primary_site": "lung",
                        "functional": False,
                        "sstr_status": "positive",
                        **({"lung_subtype": subtype} if subtype else {}),
                        **({"grade": grade} if grade else {}),
                        **({"mitoses_per_2mm2": mitoses} if mitoses is not None else {}),
                        **({"necrosis": necrosis} if necrosis is not None else {}),
                    }
                    rec["disease"] = {**rec["disease"], "tumor_burden": "mild"}
                    rec["decision"] = {"date": "2025-04-01", "regimen": "everolimus"}
                    try:
                        _patient(rec)
                    except ValueError:
                        continue  # a combination the contract refuses
                    out.append(rec)
    return out


def _patient(rec: dict[str, Any]) -> Patient:
    return Patient.model_validate({k: v for k, v in rec.items() if k != "decision"})


def test_the_engine_reading_crosses_on_digestive_sites_only() -> None:
    crossed = {
        (r["tumor"]["primary_site"], r["tumor"].get("grade"))
        for r in records()
        if r["tumor"].get("grade") and build_facts(_patient(r)).get("derived.grade") is None
    }
    assert {(s, g) for s in ("ileum", "pancreas") for g in ("G1", "G2", "G3")} <= crossed
    assert ("lung", "G3") in crossed  # G3 beside a carcinoid's count


def compare(rows: list[dict[str, Any]], recs: list[dict[str, Any]]) -> None:
    assert sorted(int(r["row_id"]) for r in rows) == list(range(1, len(recs) + 1))
    bad = []
    named = set()
    for r in rows:
        i = int(r["row_id"])
        facts = build_facts(_patient(recs[i - 1]))
        for k, c in CONDITIONS.items():
            value, missing = settle(c, facts)
            got = sorted(r[f"{k}__missing"] or [])
            named.add(tuple(got))
            if r[k] != value or got != sorted(missing if value is None else []):
                bad.append((i, k, r[k], got, value, missing, recs[i - 1]["tumor"]))
    assert not bad, bad[:5]
    crossing = {
        ("tumor.grade", "tumor.ki67_percent"),
        ("tumor.grade", "tumor.mitoses_per_2mm2"),
        ("tumor.grade", "tumor.ki67_percent", "tumor.mitoses_per_2mm2"),
    }
    thoracic = {
        ("tumor.lung_subtype", "tumor.necrosis"),
        ("tumor.grade", "tumor.mitoses_per_2mm2"),
        ("tumor.grade", "tumor.mitoses_per_2mm2", "tumor.necrosis"),
        ("tumor.lung_subtype", "tumor.mitoses_per_2mm2", "tumor.necrosis"),
    }
    assert crossing | thoracic <= named  # not vacuous


def test_duckdb_agrees_with_the_engine(kb: Knowledge, tmp_path: Path) -> None:
    recs = records()
    check_on_duckdb(recs, kb, tmp_path, engine_agreement("duckdb", CONDITIONS, compare, recs))


def test_spark_agrees_with_the_engine(spark_engine: Any, kb: Knowledge) -> None:
    recs = records()
    check_on_spark(spark_engine, recs, kb, engine_agreement("spark", CONDITIONS, compare, recs))
