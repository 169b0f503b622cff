"""Dialect.code_at: a constant table of small codes read at a 1-based position, as the audit SQL reads the
per-line path masks of ``missing_fields`` (cohort/missing_sql.py). The table is written as short texts;
every position, across the texts' boundaries, must give back its code, on DuckDB as SQL evaluates it."""

from __future__ import annotations

import random

import duckdb
import pytest

from netcds.logic.dialect import dialect


def _read_all(codes: list[int]) -> list[int]:
    sql = dialect("duckdb").code_at(codes, "x")
    rows = duckdb.sql(f"SELECT x, {sql} AS c FROM range(1, {len(codes) + 1}) t(x) ORDER BY x").fetchall()
    return [c for _, c in rows]


@pytest.mark.parametrize("n", [1, 63, 64, 65, 128, 129, 2592])
def test_every_position_gives_its_code(n: int) -> None:
    codes = [random.Random(n).randint(0, 40) for _ in range(n)]
    assert _read_all(codes) == codes


def test_position_is_one_based_and_chunk_edges_are_exact() -> None:
    codes = [0] * 200
    codes[0], codes[63], codes[64], codes[127], codes[128], codes[199] = 1, 2, 3, 4, 5, 40
    got = _read_all(codes)
    assert (got[0], got[63], got[64], got[127], got[128], got[199]) == (1, 2, 3, 4, 5, 40)
    assert sum(got) == 1 + 2 + 3 + 4 + 5 + 40


def test_inside_a_lambda_over_a_list() -> None:
    """As used: read inside a transform over each row's positions."""
    d = dialect("duckdb")
    codes = [k % 41 for k in range(300)]
    sql = d.transform("[1, 64, 65, 300]", ("x",), d.code_at(codes, "x"))
    assert duckdb.sql(f"SELECT {sql}").fetchall() == [([0, 22, 23, 12],)]


@pytest.mark.parametrize("bad", [-1, 41, 48])
def test_codes_outside_the_text_range_are_refused(bad: int) -> None:
    """Code 44 would be written as a backslash (92 = 48 + 44), which a Spark literal reads as an escape:
    codes outside 0-40 are refused rather than written."""
    with pytest.raises(ValueError, match="0-40"):
        dialect("duckdb").code_at([0, bad], "x")


def test_spark_spelling_uses_its_own_list_and_division() -> None:
    sql = dialect("spark").code_at([1, 2, 3], "x")
    assert "element_at(array('123'), CAST(((x - 1) DIV 64) + 1 AS INT))" in sql
    assert sql.startswith("(ascii(substring(")
