"""A Parquet cohort whose ``id`` column is an integer (a BIGINT record number, as JDBC, SAS or pandas export
it) is read as the id's digits, as the same data in CSV is (QA session 41, MEDIUM: every row was rejected)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from netcds.cohort.read import iter_rows


@pytest.mark.parametrize("typ", ["BIGINT", "INTEGER", "DECIMAL(18,0)"])
def test_a_numeric_id_column_reads_as_its_digits_like_csv(tmp_path: Path, typ: str) -> None:
    parquet, csv = tmp_path / "c.parquet", tmp_path / "c.csv"
    duckdb.connect().execute(
        f"""COPY (SELECT 1001::{typ} AS id, 'ileum' AS "tumor.primary_site", 'everolimus' AS "decision.regimen",
        DATE '2024-05-01' AS "decision.date") TO '{parquet}' (FORMAT parquet)"""
    )
    csv.write_text("id,tumor.primary_site,decision.regimen,decision.date\n1001,ileum,everolimus,2024-05-01\n")
    ((p_row, p_rej),) = iter_rows(parquet, None)
    ((c_row, c_rej),) = iter_rows(csv, None)
    assert p_rej is None and c_rej is None
    assert p_row == c_row and p_row["patient_id"] == "1001"


def test_a_boolean_id_is_still_refused(tmp_path: Path) -> None:
    parquet = tmp_path / "b.parquet"
    duckdb.connect().execute(
        f"""COPY (SELECT true AS id, 'ileum' AS "tumor.primary_site", 'everolimus' AS "decision.regimen",
        DATE '2024-05-01' AS "decision.date") TO '{parquet}' (FORMAT parquet)"""
    )
    ((row, rej),) = iter_rows(parquet, None)
    assert row is None and rej is not None and rej["field"] == "id"
