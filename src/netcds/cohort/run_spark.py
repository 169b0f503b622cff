"""Apache Spark backend: the same audit SQL on a Spark cluster (or ``local[*]``).

Reading and validation run on the executors (``mapPartitions`` with the Patient model), so
the cohort may live on object storage (``s3a://``, ``gs://``, ``abfss://``) and be larger than
the driver. The executors need netcds installed (see docs/cohort.md). PySpark is optional:
importing this module without it raises ImportError naming the package.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import unquote, urlparse

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql.functions import col

from netcds.cohort.layout import TREATMENT_FIELDS, canonical_columns, canonical_tuple
from netcds.cohort.query import audit_sql
from netcds.cohort.read import (
    JSON_SPACE,
    dump_json_line,
    located,
    parse_ndjson_line,
    validate_typed_columns,
)
from netcds.knowledge.schema import Knowledge
from netcds.logic.dialect import SparkDialect

DIALECT = SparkDialect()
Tagged = tuple[str, Any]
WHOLE_STAGE = "spark.sql.codegen.wholeStage"
# where each row was read (Spark's hidden ``_metadata`` columns), under names no cohort column has
FILE, BLOCK, INDEX = "__netcds_file", "__netcds_block", "__netcds_row_index"
# the text of a CSV row Spark's reader finds malformed (more or fewer cells than the header)
MALFORMED = "__netcds_malformed"
Where = dict[tuple[str, int], tuple[str, int, int]]


def schema_ddl() -> str:
    """The canonical relation as a Spark DDL schema string."""
    parts = []
    for c in canonical_columns():
        t = DIALECT.treatments_type(TREATMENT_FIELDS) if c.type == "treatments" else DIALECT.type_of(c.type)
        parts.append(f"{c.name} {t}")
    return ", ".join(parts)


def spark_session(
    master: str | None = None, app_name: str = "netcds-cohort", conf: dict[str, str] | None = None
) -> SparkSession:
    """A Spark session; ``master`` None keeps whatever spark-submit configured (else ``local[*]``)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    settings = {"spark.ui.showConsoleProgress": "false", "spark.sql.session.timeZone": "UTC",
                **(conf or {})}  # fmt: skip
    for k, v in settings.items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if WHOLE_STAGE not in settings and not spark.sparkContext.getConf().contains(WHOLE_STAGE):
        # the audit's projection is far too wide for one generated method: per-operator code
        # generation runs it 3-4x faster (1e6 rows, Spark 4.3 local); set it to override
        spark.conf.set(WHOLE_STAGE, "false")
    _quiet_codegen(spark)
    return spark


def _quiet_codegen(spark: SparkSession) -> None:
    """Part of the audit projection is too wide for one generated Java method (the 64 KB limit);
    Spark then logs the compiler's stack trace and falls back to interpreted evaluation for that
    part, with the same results. Silence those two loggers only."""
    try:
        jvm: Any = spark.sparkContext._jvm
        level = jvm.org.apache.logging.log4j.Level.OFF
        for name in (
            "org.apache.spark.sql.catalyst.expressions.codegen.CodeGenerator",
            "org.apache.spark.sql.execution.WholeStageCodegenExec",
        ):
            jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(name, level)
    except Exception:  # noqa: S110 (logging only; another log backend keeps its noise)
        pass


def _tag(canon: dict[str, Any] | None, rej: dict[str, Any] | None) -> Tagged:
    if canon is not None:
        return ("ok", canonical_tuple(canon))
    return ("reject", dump_json_line(rej))


def cohort_root(path: str) -> str:
    """The path part of the cohort path as given (a local path made absolute, as Spark reads it)."""
    parsed = urlparse(path)
    if len(parsed.scheme) <= 1:  # a local path (one letter: a Windows drive)
        return os.path.abspath(path)
    return parsed.path


def part_name(file_uri: str, root: str) -> str:
    """A file as Spark names it (``_metadata.file_path``, a URI) relative to the cohort directory
    ``root``, or the file's name when the cohort is that one file (or a glob)."""
    path = unquote(urlparse(file_uri).path)
    base = root.rstrip("/") + "/"
    return path[len(base) :] if path.startswith(base) else path.rsplit("/", 1)[-1]


def blocks_where(counts: Iterable[tuple[str, int, int]], root: str) -> Where:
    """(file URI, block start, rows) of each block read -> for each (file URI, block start): the
    file's name for rejects, the rows before the block in the cohort (files in name order, as the
    DuckDB reader numbers them) and the rows before it in its file."""
    out: Where = {}
    cohort = 0
    in_file: dict[str, int] = {}
    for f, start, n in sorted(counts, key=lambda c: (part_name(c[0], root), c[1])):
        out[(f, start)] = (part_name(f, root), cohort, in_file.get(f, 0))
        cohort += n
        in_file[f] = in_file.get(f, 0) + n
    return out


def _validate_lines(where: Where, part: Iterable[Row]) -> Iterator[Tagged]:
    """NDJSON lines, each block of a file read in order: the row is the line's place in the cohort."""
    key: tuple[str, int] | None = None
    n = 0
    for r in part:
        if (r[FILE], r[BLOCK]) != key:
            key, n = (r[FILE], r[BLOCK]), 0
            name, before, before_in_file = where[key]
        n += 1
        line = r["value"].removesuffix("\r")  # a CRLF line ending, as the DuckDB reader reads it
        if line.strip(JSON_SPACE):
            yield _tag(*located(parse_ndjson_line(before + n, line), name, before_in_file + n))


def _validate_csv_rows(
    header: list[str], part: Iterable[tuple[int, str, int, dict[str, Any]]]
) -> Iterator[Tagged]:
    """CSV rows: a row Spark's reader found malformed (its text in MALFORMED) is read again as the DuckDB
    reader reads it, so a row with more or fewer cells than the header is the same reject there. Spark
    decodes bytes that are not UTF-8 as U+FFFD, as the DuckDB reader does: such a row goes to the same
    ``validate_csv_cells``, the same reject (row, file, line, column, message, cells)."""
    import csv
    import io

    from netcds.cohort.read import validate_csv_cells
    from netcds.cohort.textcells import MAX_CELL, REPLACEMENT, csv_reader, long_cell

    for row, name, line, rec in part:
        text = rec.pop(MALFORMED, None)
        try:
            cells = next(csv_reader(io.StringIO(text)), []) if text is not None else None
        except csv.Error:
            cells = [text or ""]  # a cell over the limit: stops the run below, as on DuckDB
        if any(len(c) > MAX_CELL for c in [*(cells or []), *(v or "" for v in rec.values())]):
            yield ("stop", (row, long_cell(name, line, row)))
        elif cells is not None and len(cells) != len(header):
            yield _tag(*located(validate_csv_cells(row, header, cells), name, line))
        elif any(REPLACEMENT in v for v in rec.values() if isinstance(v, str)):
            # the cells in header order (rec holds the header's columns, MALFORMED popped); an empty cell,
            # null on Spark, is the empty text the DuckDB reader reads
            text_cells = ["" if v is None else str(v) for v in rec.values()]
            yield _tag(*located(validate_csv_cells(row, header, text_cells), name, line))
        else:
            yield from _validate_rows([(row, name, line, rec)])


def _validate_rows(part: Iterable[tuple[int, str, int, dict[str, Any]]]) -> Iterator[Tagged]:
    """Parquet (or CSV) rows: typed values read as on DuckDB (DECIMAL, UUID; BINARY, INTERVAL rejected)."""
    for row, name, line, rec in part:
        yield _tag(*located(validate_typed_columns(row, rec), name, line))


def _csv_rows(root: str, part: Iterable[tuple[Row, int]]) -> Iterator[tuple[int, str, int, dict[str, Any]]]:
    """(row, index) -> (row number, file, data row in the file, cells). A multi-line CSV file is
    never split, so its rows come in order, together, in one partition."""
    file, name, line = None, "", 0
    for r, idx in part:
        rec = r.asDict()
        f = rec.pop(FILE)
        if f != file:
            file, name, line = f, part_name(f, root), 0
        line += 1
        yield idx + 1, name, line, rec


def _is_ok(t: Tagged) -> bool:
    return t[0] == "ok"


def _is_reject(t: Tagged) -> bool:
    return t[0] == "reject"


def _payload(t: Tagged) -> Any:
    return t[1]


class SparkEngine:
    """Runs the audit in a Spark session; views ``decisions`` and ``results``."""

    name = "spark"

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self._frames: dict[str, DataFrame] = {}

    def load_rows(self, rows: list[dict[str, Any]], view: str = "decisions") -> DataFrame:
        """Canonical rows (already validated, e.g. by the DuckDB path or a test) -> ``view``."""
        df = self.spark.createDataFrame([canonical_tuple(r) for r in rows], schema=schema_ddl())
        df.createOrReplaceTempView(view)
        self._frames[view] = df
        return df

    def load_cohort(self, path: str, fmt: str, view: str = "decisions") -> tuple[int, list[str]]:
        """Read and validate a cohort on the executors; returns (valid rows, reject lines)."""
        root = cohort_root(path)
        if fmt == "ndjson":
            # lines end at LF only, as on DuckDB (Spark's default also ends one at a bare CR)
            text = self.spark.read.text(path, lineSep="\n").select(
                "value",
                col("_metadata.file_path").alias(FILE),
                col("_metadata.file_block_start").alias(BLOCK),
            )
            counts = [(r[FILE], r[BLOCK], r["count"]) for r in text.groupBy(FILE, BLOCK).count().collect()]
            where = blocks_where(counts, root)
            tagged = text.rdd.mapPartitions(lambda part: _validate_lines(where, part))
        elif fmt == "parquet":
            df = self.spark.read.parquet(path)
            cols = df.columns
            df = df.select(
                *[_utc_wall_time(df, c) for c in cols],
                col("_metadata.file_path").alias(FILE),
                col("_metadata.row_index").alias(INDEX),
            )
            counts = [(r[FILE], 0, r["count"]) for r in df.groupBy(FILE).count().collect()]
            where = blocks_where(counts, root)
            tagged = df.rdd.map(lambda r: _parquet_row(where, cols, r)).mapPartitions(_validate_rows)
        elif fmt == "csv":
            from pyspark.sql.types import StringType, StructField, StructType

            reader = self.spark.read.option("header", True).option("escape", '"').option("multiLine", True)
            header = reader.csv(path).columns
            # every cell as text, as the DuckDB reader reads them; a row with more or fewer cells than the
            # header is kept whole in MALFORMED (Spark would drop the extra cells, or make the missing ones
            # null) and rejected as DuckDB rejects it
            schema = StructType([StructField(c, StringType()) for c in [*header, MALFORMED]])
            df = (
                reader.schema(schema)
                .option("mode", "PERMISSIVE")
                .option("columnNameOfCorruptRecord", MALFORMED)
                .csv(path)
            )
            df = df.select("*", col("_metadata.file_path").alias(FILE))
            tagged = (
                df.rdd.zipWithIndex()
                .mapPartitions(lambda part: _csv_rows(root, part))
                .mapPartitions(lambda part: _validate_csv_rows(header, part))
            )
        else:
            raise ValueError(f"unknown cohort format '{fmt}'")
        tagged = tagged.cache()
        stops = tagged.filter(lambda t: t[0] == "stop").map(_payload).collect()
        if stops:  # a CSV cell over the limit (a quote never closed): the DuckDB reader stops there too
            tagged.unpersist()
            raise ValueError(min(stops)[1])
        ok = tagged.filter(_is_ok).map(_payload)
        frame = self.spark.createDataFrame(ok, schema=schema_ddl())
        frame.createOrReplaceTempView(view)
        self._frames[view] = frame
        rejects = tagged.filter(_is_reject).map(_payload).collect()
        return int(tagged.filter(_is_ok).count()), [str(r) for r in rejects]

    def audit(self, kb: Knowledge, source: str = "decisions", into: str = "results") -> str:
        sql = audit_sql(kb, "spark", source)
        df = self.spark.sql(sql).cache()
        df.createOrReplaceTempView(into)
        self._frames[into] = df
        return sql

    def query(self, sql: str) -> list[dict[str, Any]]:
        return [r.asDict(recursive=True) for r in self.spark.sql(sql).collect()]

    def rows(self, view: str = "results") -> list[dict[str, Any]]:
        return self.query(f"SELECT * FROM {view} ORDER BY row_id")  # noqa: S608

    def count(self, view: str) -> int:
        return int(self.spark.table(view).count())

    def write_parquet(self, view: str, path: str) -> None:
        self.spark.table(view).orderBy("row_id").write.mode("overwrite").parquet(path)

    def close(self) -> None:
        for df in self._frames.values():
            df.unpersist()
        self._frames.clear()


def _parquet_row(where: Where, cols: list[str], r: Row) -> tuple[int, str, int, dict[str, Any]]:
    """A Parquet row -> (row number, file, 1-based row index in the file, plain values)."""
    name, before, _ = where[(r[FILE], 0)]
    line = r[INDEX] + 1
    return before + line, name, line, {c: _row_to_py(r[c]) for c in cols}


def _without_zone(t: Any) -> Any:
    """A Spark type with every time-zoned TIMESTAMP in it (at any depth) made TIMESTAMP_NTZ; None when it
    holds none."""
    from pyspark.sql.types import ArrayType, MapType, StructField, StructType, TimestampNTZType, TimestampType

    if isinstance(t, TimestampType):
        return TimestampNTZType()
    if isinstance(t, ArrayType):
        inner = _without_zone(t.elementType)
        return None if inner is None else ArrayType(inner, t.containsNull)
    if isinstance(t, MapType):
        k, v = _without_zone(t.keyType), _without_zone(t.valueType)
        if k is None and v is None:
            return None
        return MapType(k or t.keyType, v or t.valueType, t.valueContainsNull)
    if isinstance(t, StructType):
        fields = [(f, _without_zone(f.dataType)) for f in t.fields]
        if all(n is None for _, n in fields):
            return None
        return StructType([StructField(f.name, n or f.dataType, f.nullable) for f, n in fields])
    return None


def _utc_wall_time(df: DataFrame, name: str) -> Any:
    """A Parquet column, a time-zoned timestamp in it read as its UTC time without a zone (the session time
    zone is UTC), as the DuckDB reader reads it: PySpark would give the executor's local time."""
    c = col("`" + name.replace("`", "``") + "`")
    plain = _without_zone(df.schema[name].dataType)
    return c if plain is None else c.cast(plain).alias(name)


def _row_to_py(v: Any) -> Any:
    if hasattr(v, "asDict"):
        return {k: _row_to_py(x) for k, x in v.asDict().items()}
    if isinstance(v, list):
        return [_row_to_py(x) for x in v]
    return v
