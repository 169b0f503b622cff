"""Release 5.2024-r13's lung/thymus row (a functional tumor on a running octreotide LAR / lanreotide course counts
as symptomatic, netcds's reading) and its exclusion ``lung_thymus_outside_row`` in the cohort SQL: every
combination of functional status, symptoms, burden, disease status, carcinoid subtype and SSA course (ongoing,
ended, stopped, none, history unrecorded) gives, on DuckDB and Spark, the per-patient engine's setting,
statuses, missing fields and verdict; the new branch decides the setting for some rows."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from netcds import load_knowledge
from tests.conftest import lung, run

from .helpers import check_on_duckdb, check_on_spark
from .test_ssa_on_course_r12_sql import COURSES, _treatments

R12, R13 = load_knowledge("5.2024-r12"), load_knowledge("5.2024-r13")
_ABSENT = ...


def _records() -> list[dict[str, Any]]:
    out = []
    for functional, hormonal, bulk, burden, status, subtype, course, regimen in itertools.product(
        [True, False, _ABSENT],
        [False, _ABSENT],
        [False, _ABSENT],
        ["mild", "clinically_significant"],
        ["stable", "progressive"],
        ["typical_carcinoid", "atypical_carcinoid"],
        COURSES,
        ["ssa", "observation"],
    ):
        tumor: dict[str, Any] = {"functional": functional, "hormonal_symptoms": hormonal, "lung_subtype": subtype,
                                 "syndromes": ["carcinoid_syndrome"] if functional is True else _ABSENT}  # fmt: skip
        disease: dict[str, Any] = {"tumor_burden": burden, "tumor_symptoms": bulk, "status": status}
        if status == "stable":
            disease["progression_clinically_significant"] = _ABSENT
        rec = lung(tumor=tumor, disease=disease, treatments=_treatments(course, False))
        rec["decision"] = {"date": "2025-04-01", "regimen": regimen}
        out.append(rec)
    return out


RECORDS = _records()


def test_the_new_branch_decides_the_setting_for_some_rows() -> None:
    moved = [
        r
        for r in RECORDS[::2]
        if run({k: v for k, v in r.items() if k != "decision"}, R12).setting.status
        != run({k: v for k, v in r.items() if k != "decision"}, R13).setting.status
    ]
    assert moved


def test_duckdb_agrees_with_the_engine(tmp_path: Path) -> None:
    check_on_duckdb(RECORDS, R13, tmp_path, lambda query: None)


def test_spark_agrees_with_the_engine(spark_engine: Any) -> None:
    check_on_spark(spark_engine, RECORDS, R13, lambda query: None)
