"""The cohort commands end to end: synth -> audit (files, report with plots) and the SQL printout."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from netcds.cli import app

runner = CliRunner()


def test_synth_then_audit_writes_every_output(tmp_path: Path) -> None:
    cohort = tmp_path / "cohort.ndjson"
    res = runner.invoke(app, ["synth", "--n", "400", "--seed", "3", "--out", str(cohort)])
    assert res.exit_code == 0, res.output
    assert len(cohort.read_text().splitlines()) == 400
    out = tmp_path / "audit"
    res = runner.invoke(app, ["cohort", "audit", str(cohort), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "400 rows in = 400 results + 0 rejects" in res.output
    summary = json.loads((out / "summary.json").read_text())
    assert sum(summary["verdict_counts"].values()) == 400
    html = (out / "report.html").read_text()
    assert html.count("<svg") >= 5 and "not a judgement of care" in html
    assert (out / "summary.csv").read_text().startswith("section,group,verdict,n")
    n, opts = duckdb.connect().execute(
        f"SELECT count(*), count(*) FILTER (WHERE len(options) > 0) FROM read_parquet('{out / 'decisions.parquet'}')"
    ).fetchone() or (0, 0)
    assert n == 400 and opts > 200


def test_synth_is_reproducible_and_the_seed_matters(tmp_path: Path) -> None:
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        runner.invoke(app, ["synth", "--n", "50", "--seed", seed, "--out", str(tmp_path / f"{name}.ndjson")])
    a, b, c = ((tmp_path / f"{x}.ndjson").read_text() for x in "abc")
    assert a == b and a != c


def test_sql_prints_both_dialects() -> None:
    duck = runner.invoke(app, ["cohort", "sql"])
    spark = runner.invoke(app, ["cohort", "sql", "--engine", "spark"])
    assert duck.exit_code == spark.exit_code == 0
    assert "lambda t:" in duck.output and "list_bit_or(" in duck.output
    assert "t -> " in spark.output and "aggregate(" in spark.output and "named_struct(" in spark.output
    assert "-- gi.cabozantinib" not in duck.output  # entries are evaluated inline, per applicable column
    assert "-- row criteria of gi_wd_g12" in duck.output


def test_audit_refuses_an_unknown_format(tmp_path: Path) -> None:
    bad = tmp_path / "cohort.xlsx"
    bad.write_text("x")
    res = runner.invoke(app, ["cohort", "audit", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
