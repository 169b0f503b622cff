"""logic/sql_trials.agreed: the value every trial of an among-fact gives alike, each distinct trial once.

A trial whose expression the tried value does not change (e.g. a lung carcinoid's grade tried as G1 and as
G2 under a node that only asks "G1 or G2") used to be written, cast and summed once per value; it is now
the expression itself. The three-valued result is checked against DuckDB for every combination."""

from __future__ import annotations

import itertools

import duckdb
import pytest

from netcds.logic.sql_trials import agreed


def test_identical_trials_are_the_expression_itself() -> None:
    assert agreed(["(a AND b)", "(a AND b)"]) == "(a AND b)"
    assert agreed(["(a AND b)", "(a AND b)", "(a AND b)"]) == "(a AND b)"


def test_identical_trials_beside_a_literal_are_written_once() -> None:
    sql = agreed(["TRUE", "(a AND b)", "(a AND b)"])
    assert sql.count("(a AND b)") == 1
    assert "WHEN 1 THEN TRUE" in sql and "FALSE" not in sql


def test_different_trials_are_still_compared() -> None:
    sql = agreed(["a", "b"])
    assert "CAST(a AS INTEGER) + CAST(b AS INTEGER)" in sql


def test_two_different_literals_are_unknown() -> None:
    assert agreed(["TRUE", "FALSE", "a"]) == "CAST(NULL AS BOOLEAN)"


VALUES = (True, False, None)


@pytest.mark.parametrize(
    "trials",
    [["a", "a"], ["a", "b"], ["TRUE", "a", "a"], ["FALSE", "a", "b"], ["a", "a", "b"], ["TRUE", "TRUE", "a"]],
)
def test_agreed_is_true_or_false_only_where_every_trial_is(trials: list[str]) -> None:
    con = duckdb.connect()
    for a, b in itertools.product(VALUES, VALUES):
        env = {"a": a, "b": b, "TRUE": True, "FALSE": False}
        values = [env[t] for t in trials]
        want = values[0] if all(v is not None and v == values[0] for v in values) else None
        row = con.execute(f"SELECT {agreed(trials)} FROM (SELECT ?::BOOLEAN AS a, ?::BOOLEAN AS b)", [a, b])
        got = row.fetchone()
        assert got is not None and got[0] == want, (trials, a, b)
