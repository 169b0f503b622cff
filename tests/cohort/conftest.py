"""Fixtures shared by the cohort tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def spark_engine(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A one-core local Spark engine for one test module (skipped without PySpark)."""
    pytest.importorskip("pyspark")
    from netcds.cohort.run_spark import SparkEngine, spark_session

    name = request.module.__name__.rsplit(".", 1)[-1]
    spark = spark_session(
        "local[1]",
        f"netcds-{name}",
        {"spark.sql.shuffle.partitions": "1", "spark.default.parallelism": "1"},
    )
    yield SparkEngine(spark)
    spark.stop()
