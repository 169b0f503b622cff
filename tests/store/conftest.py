"""Store fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL is the session's ``postgres`` (tests/postgres_plugin.py): ``NETCDS_TEST_POSTGRES_URL`` when set,
else a private cluster started for the run; without one the PostgreSQL variants are skipped (and under
CI=true ``test_postgresql_is_available`` fails).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from netcds.store.repo import make_engine

BACKENDS = ["sqlite", "postgresql"]


def reset_postgres(url: str) -> None:
    """Empty the database: drop and recreate the ``public`` schema (tables, the audit trigger function)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    """An empty PostgreSQL database URL (skipped when there is no PostgreSQL)."""
    reset_postgres(postgres_url)
    return postgres_url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield request.getfixturevalue("pg_url")
