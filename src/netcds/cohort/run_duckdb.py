"""DuckDB backend (embedded, the default): canonical rows in, audit results out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from netcds.cohort.layout import TREATMENT_FIELDS, canonical_columns
from netcds.cohort.query import audit_sql
from netcds.knowledge.schema import Knowledge
from netcds.logic.dialect import DuckDBDialect

DIALECT = DuckDBDialect()


def column_types() -> dict[str, str]:
    """The canonical relation's DuckDB types."""
    return {
        c.name: DIALECT.treatments_type(TREATMENT_FIELDS)
        if c.type == "treatments"
        else DIALECT.type_of(c.type)
        for c in canonical_columns()
    }


def _quote(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class DuckDBEngine:
    """One DuckDB connection holding the ``decisions`` relation and the audit results."""

    name = "duckdb"

    def __init__(
        self, database: str = ":memory:", threads: int | None = None, memory_limit: str | None = None
    ) -> None:
        self.con = duckdb.connect(database)
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = {_quote(memory_limit)}")
        self.con.execute("SET preserve_insertion_order = true")

    def load_canonical(self, ndjson: Path, table: str = "decisions") -> None:
        """Create ``table`` from a canonical NDJSON file (cohort/layout.py)."""
        spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in column_types().items()) + "}"
        self.con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_json({_quote(ndjson)},"  # noqa: S608
            f" format = 'newline_delimited', columns = {spec}, maximum_object_size = 134217728)"
        )

    def audit(self, kb: Knowledge, source: str = "decisions", into: str = "results") -> str:
        """Run the audit of ``source`` against ``kb`` into table ``into``; returns the SQL run."""
        sql = audit_sql(kb, "duckdb", source)
        self.con.execute(f"CREATE OR REPLACE TABLE {into} AS {sql}")
        return sql

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def rows(self, table: str = "results") -> list[dict[str, Any]]:
        return self.query(f"SELECT * FROM {table} ORDER BY row_id")  # noqa: S608

    def count(self, table: str) -> int:
        got = self.con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        return int(got[0]) if got else 0

    def write_parquet(self, table: str, path: Path) -> None:
        self.con.execute(f"COPY (SELECT * FROM {table} ORDER BY row_id) TO {_quote(path)} (FORMAT parquet)")  # noqa: S608

    def close(self) -> None:
        self.con.close()
