"""Release 5.2024-r11's lung/thymus SSA entry (footnote a keeps the SSA for a functional tumor that progressed on
it) in the cohort SQL: every combination of the facts the entry reads, on DuckDB and Spark, gives the
per-patient engine's setting, statuses, missing fields and verdict; the new branch is taken by some rows."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from netcds import load_knowledge
from tests.conftest import lung, opt, run

from .helpers import Query, check_on_duckdb, check_on_spark

R11 = load_knowledge("5.2024-r11")
_ABSENT = ...


def _records() -> list[dict[str, Any]]:
    out = []
    for functional, hormonal, sstr, progressed, significant, regimen in itertools.product(
        [True, False, _ABSENT],
        [True, False, _ABSENT],
        ["positive", "negative", _ABSENT],
        [True, False, None],
        [True, False],
        ["ssa", "everolimus"],
    ):
        if functional is False and hormonal is True:
            continue  # the contract refuses the pair
        tumor: dict[str, Any] = {"functional": functional, "hormonal_symptoms": hormonal, "sstr_status": sstr}
        if functional is True:
            tumor["syndromes"] = ["carcinoid_syndrome"]
        rec = lung(
            tumor=tumor,
            disease={"progression_clinically_significant": significant},
            treatments=[{"agent": "octreotide_lar", "start": "2023-01-01", "progressed": progressed}],
        )
        rec["decision"] = {"date": "2025-04-01", "regimen": regimen}
        out.append(rec)
    return out


RECORDS = _records()


def _nothing(_: Query) -> None:
    pass


def test_the_new_branch_is_exercised() -> None:
    took = [
        r for r in RECORDS if r["tumor"].get("sstr_status") == "negative" and r["tumor"].get("functional")
    ]
    patients = [{k: v for k, v in r.items() if k != "decision"} for r in took]
    assert any(opt(run(p, R11), "lung.ssa").status == "eligible" for p in patients)


def test_duckdb_agrees_with_the_engine(tmp_path: Path) -> None:
    check_on_duckdb(RECORDS, R11, tmp_path, _nothing)


def test_spark_agrees_with_the_engine(spark_engine: Any) -> None:
    check_on_spark(spark_engine, RECORDS, R11, _nothing)
