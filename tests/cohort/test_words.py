"""How the audit spells its words: ENUMs inside DuckDB, the same text when read, sorted or written out;
constant-list lookups with CASE semantics."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from netcds.cohort.run_duckdb import DuckDBEngine
from netcds.cohort.synth import synth_records
from netcds.knowledge.schema import Knowledge
from netcds.logic.sql import dialect

from .helpers import canonical_rows, write_canonical

WORD_COLUMNS = (
    "decision_regimen", "primary_site", "setting_table", "setting_column", "setting_status", "verdict",
    "verdict_entry_id", "chosen_tier", "chosen_category",
)  # fmt: skip


def test_results_read_sort_and_write_like_text(kb: Knowledge, tmp_path: Path) -> None:
    records = list(synth_records(400, seed=3, off_guideline=0.3, missing=0.2))
    engine = DuckDBEngine(threads=1)
    try:
        engine.load_canonical(write_canonical(canonical_rows(records), tmp_path / "c.ndjson"))
        engine.audit(kb)
        types = {r["column_name"]: r["column_type"] for r in engine.query("DESCRIBE results")}
        assert all(types[c].startswith("ENUM(") for c in WORD_COLUMNS)
        assert types["option_status"].startswith("ENUM(") and types["option_status"].endswith("[]")
        for c in WORD_COLUMNS:
            got = [r[c] for r in engine.query(f"SELECT {c} FROM results ORDER BY {c} NULLS LAST")]
            assert all(isinstance(v, str) for v in got if v is not None)
            assert got == sorted(got, key=lambda v: (v is None, v or ""))  # ENUM order is text order
        engine.write_parquet("results", tmp_path / "d.parquet")
        rows = engine.rows()
    finally:
        engine.close()
    con = duckdb.connect()
    out = con.execute(f"DESCRIBE SELECT * FROM '{tmp_path / 'd.parquet'}'").fetchall()
    written = {name: typ for name, typ, *_ in out}
    assert all(written[c] == "VARCHAR" for c in WORD_COLUMNS)
    assert written["option_status"] == written["option_category"] == "VARCHAR[]"
    back = con.execute(
        f"SELECT verdict, option_status FROM '{tmp_path / 'd.parquet'}' ORDER BY row_id"
    ).fetchall()
    assert back == [(r["verdict"], r["option_status"]) for r in rows]
    assert {r["verdict"] for r in rows} >= {"concordant", "not_listed"}


@pytest.mark.parametrize("x", ["'b'", "'zz'", "NULL"])
def test_lookup_is_a_case_on_the_key(x: str) -> None:
    d = dialect("duckdb")
    con = duckdb.connect()
    lookup = d.lookup(x, ["a", "b", "c"], ["A", "B", "C"])
    case = f"CASE {x} WHEN 'a' THEN 'A' WHEN 'b' THEN 'B' WHEN 'c' THEN 'C' END"
    assert con.execute(f"SELECT {lookup}, {case}").fetchone() in {("B", "B"), (None, None)}
    grade = d.lookup("CAST(2 AS INTEGER)", [1, 2, 3], ["G1", "G2", "G3"])
    assert con.execute(f"SELECT {grade}").fetchone() == ("G2",)
