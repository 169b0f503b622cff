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

from pyspark.sql import DataFrame, SparkSession

from netcds.cohort.layout import TREATMENT_FIELDS, canonical_columns, canonical_tuple
from netcds.cohort.query import audit_sql
from netcds.cohort.read import dump_json_line, parse_ndjson_line, record_from_columns, validate_record
from netcds.knowledge.schema import Knowledge
from netcds.logic.dialect import SparkDialect

DIALECT = SparkDialect()
Tagged = tuple[str, Any]
WHOLE_STAGE = "spark.sql.codegen.wholeStage"


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


def _validate_lines(part: Iterable[tuple[str, int]]) -> Iterator[Tagged]:
    for line, idx in part:
        if line.strip():
            yield _tag(*parse_ndjson_line(idx + 1, line))


def _validate_rows(part: Iterable[tuple[int, dict[str, Any]]]) -> Iterator[Tagged]:
    import json

    from netcds.cohort.layout import json_default

    for row, rec in part:
        raw = json.loads(json.dumps(rec, default=json_default))
        yield _tag(*validate_record(row, record_from_columns(rec), raw))


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
        sc = self.spark.sparkContext
        if fmt == "ndjson":
            tagged = sc.textFile(path).zipWithIndex().mapPartitions(_validate_lines)
        elif fmt == "parquet":
            df = self.spark.read.parquet(path).select("*", "_metadata.file_path", "_metadata.row_index")
            counts = sorted((r["file_path"], r["count"]) for r in df.groupBy("file_path").count().collect())
            offsets, total = {}, 0
            for f, n in counts:
                offsets[f] = total
                total += n
            cols = [c for c in df.columns if c not in ("file_path", "row_index")]
            tagged = (
                df.rdd.map(lambda r: (offsets[r["file_path"]] + r["row_index"] + 1, {c: r[c] for c in cols}))
                .map(_as_dict)
                .mapPartitions(_validate_rows)
            )
        elif fmt == "csv":
            df = (
                self.spark.read.option("header", True)
                .option("escape", '"')
                .option("multiLine", True)
                .csv(path)
            )
            tagged = (
                df.rdd.zipWithIndex().map(lambda x: (x[1] + 1, x[0].asDict())).mapPartitions(_validate_rows)
            )
        else:
            raise ValueError(f"unknown cohort format '{fmt}'")
        tagged = tagged.cache()
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


def _as_dict(x: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    row, rec = x
    return row, {k: _row_to_py(v) for k, v in rec.items()}


def _row_to_py(v: Any) -> Any:
    if hasattr(v, "asDict"):
        return {k: _row_to_py(x) for k, x in v.asDict().items()}
    if isinstance(v, list):
        return [_row_to_py(x) for x in v]
    return v
