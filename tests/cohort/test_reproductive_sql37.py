"""``derived.pregnant`` and ``derived.breastfeeding`` (session 37) in the cohort SQL, against facts.py.

The safety items read them (a recorded pregnancy counts whatever the recorded sex; unrecorded, a male
patient is not pregnant). No guideline condition reads them today, but the vocabulary lets one, so the SQL
mirror (cohort/derived_sql.py, missing_sql.py) must agree with the engine: over every sex (and none) and
every flag value (and none), on DuckDB and Spark, each condition's value and the fields it names when
unknown (``sex`` beside the flag while the sex is unrecorded).
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

FACTS = ("pregnant", "breastfeeding")
CONDITIONS: dict[str, Condition] = {
    f"{f}_{k}": parse_condition(c)
    for f in FACTS
    for k, c in {
        "yes": {"fact": f"derived.{f}", "is": True},
        "no": {"fact": f"derived.{f}", "is": False},
    }.items()
}


def records() -> list[dict[str, Any]]:
    out = []
    for sex in (None, "female", "male", "other", "unknown"):
        for flag in (None, True, False):
            for f in FACTS:
                if sex == "male" and f == "pregnant" and flag is True:
                    continue  # the contract refuses it
                rec = gi()
                for k in ("sex", *FACTS):
                    rec.pop(k, None)
                if sex is not None:
                    rec["sex"] = sex
                if flag is not None:
                    rec[f] = flag
                rec["decision"] = {"date": "2025-04-01", "regimen": "everolimus"}
                out.append(rec)
    return out


def _patient(rec: dict[str, Any]) -> Patient:
    return Patient.model_validate({k: v for k, v in rec.items() if k != "decision"})


def test_the_engine_reading() -> None:
    """The reference pinned: recorded flag as is; a male patient without one is neither; else unknown."""
    for rec in records():
        d = build_facts(_patient(rec))
        for f in FACTS:
            got = d.derived[f"derived.{f}"]
            if f in rec:
                assert (got.value, got.missing) == (rec[f], ()), rec
            elif rec.get("sex") == "male":
                assert (got.value, got.missing) == (False, ()), rec
            else:
                sex = ("sex",) if rec.get("sex") in (None, "unknown") else ()
                assert (got.value, got.missing) == (None, (*sex, f)), rec


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
                bad.append((i, k, r[k], got, value, missing, recs[i - 1].get("sex")))
    assert not bad, bad[:5]
    assert {("pregnant", "sex"), ("pregnant",), ("breastfeeding", "sex")} <= named  # not vacuous


def test_duckdb_agrees_with_the_engine(kb: Knowledge, tmp_path: Path) -> None:
    recs = records()
    check_on_duckdb(recs, kb, tmp_path, engine_agreement("duckdb", CONDITIONS, compare, recs))


def test_spark_agrees_with_the_engine(spark_engine: Any, kb: Knowledge) -> None:
    recs = records()
    check_on_spark(spark_engine, recs, kb, engine_agreement("spark", CONDITIONS, compare, recs))
