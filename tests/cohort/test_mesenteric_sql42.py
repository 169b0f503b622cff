"""``derived.small_bowel_mesenteric`` (session 42) in the cohort SQL, against facts.py.

The record's value is kept whatever the primary site (a cecal primary recorded with small-bowel mesenteric
disease keeps it, so the RT entry that excludes such disease is not offered on the site alone); unrecorded,
a primary outside the small bowel is read as not having it and a small-bowel primary waits for the field.
Over primary sites in and outside the small bowel and every flag value (and none), on DuckDB and Spark, each condition's
value and the fields it names when unknown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netcds.facts import SMALL_BOWEL_SITES, build_facts
from netcds.knowledge.schema import Knowledge
from netcds.logic.ast import Condition, parse_condition
from netcds.logic.evaluate import settle
from netcds.patient import Patient
from tests.conftest import gi

from .helpers import check_on_duckdb, check_on_spark, engine_agreement

CONDITIONS: dict[str, Condition] = {
    k: parse_condition(c)
    for k, c in {
        "mes_yes": {"fact": "derived.small_bowel_mesenteric", "is": True},
        "mes_no": {"fact": "derived.small_bowel_mesenteric", "is": False},
    }.items()
}
SITES = ("ileum", "duodenum", "small_bowel", "cecum", "rectum", "stomach", "pancreas")


def records() -> list[dict[str, Any]]:
    out = []
    for site in SITES:
        for flag in (None, True, False):
            rec = gi(disease={"extent": "locoregional", "resectable": False})
            rec["tumor"]["primary_site"] = site  # a required field
            rec["disease"].pop("small_bowel_mesenteric", None)
            if flag is not None:
                rec["disease"]["small_bowel_mesenteric"] = flag
            rec["decision"] = {"date": "2025-04-01", "regimen": "radiotherapy"}
            out.append(rec)
    return out


def _patient(rec: dict[str, Any]) -> Patient:
    return Patient.model_validate({k: v for k, v in rec.items() if k != "decision"})


def test_the_engine_reading() -> None:
    """The reference pinned: recorded flag as is; unrecorded, false outside the small bowel, else unknown."""
    for rec in records():
        got = build_facts(_patient(rec)).derived["derived.small_bowel_mesenteric"]
        flag = rec["disease"].get("small_bowel_mesenteric")
        site = rec["tumor"].get("primary_site")
        if flag is not None:
            assert (got.value, got.missing) == (flag, ()), rec
        elif site in SMALL_BOWEL_SITES:
            assert (got.value, got.missing) == (None, ("disease.small_bowel_mesenteric",)), rec
        else:
            assert (got.value, got.missing) == (False, ()), rec


def compare(rows: list[dict[str, Any]], recs: list[dict[str, Any]]) -> None:
    assert sorted(int(r["row_id"]) for r in rows) == list(range(1, len(recs) + 1))
    bad = []
    values = set()
    for r in rows:
        i = int(r["row_id"])
        facts = build_facts(_patient(recs[i - 1]))
        for k, c in CONDITIONS.items():
            value, missing = settle(c, facts)
            values.add((k, value))
            got = sorted(r[f"{k}__missing"] or [])
            if r[k] != value or got != sorted(missing if value is None else []):
                bad.append((i, k, r[k], got, value, missing))
    assert not bad, bad[:5]
    assert {("mes_yes", True), ("mes_yes", False), ("mes_yes", None)} <= values  # not vacuous


def test_duckdb_agrees_with_the_engine(kb: Knowledge, tmp_path: Path) -> None:
    recs = records()
    check_on_duckdb(recs, kb, tmp_path, engine_agreement("duckdb", CONDITIONS, compare, recs))


def test_spark_agrees_with_the_engine(spark_engine: Any, kb: Knowledge) -> None:
    recs = records()
    check_on_spark(spark_engine, recs, kb, engine_agreement("spark", CONDITIONS, compare, recs))
