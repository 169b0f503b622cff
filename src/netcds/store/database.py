"""The database under the store: an engine for a URL, the Alembic migrations, the schema revision.

SQLite (the default) runs in WAL mode with ``synchronous=FULL`` so a committed write survives a power
cut; PostgreSQL is used when the URL says so. :class:`netcds.store.repo.Store` is built on these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
    finally:
        cur.close()


def is_memory_url(url: str) -> bool:
    """An in-memory SQLite database (one process only; nothing survives it), with any driver name
    (``sqlite+pysqlite:///:memory:``) or query (``sqlite:///:memory:?cache=shared``): read as a file,
    each pooled connection would open its own empty database and a ``:memory:.writer-lock`` file."""
    if not url.startswith("sqlite"):
        return False
    if "mode=memory" in url:
        return True
    try:
        database = make_url(url).database
    except Exception:  # not a URL SQLAlchemy reads: not ours to judge here
        return False
    return database in (None, "", ":memory:")


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for another database, an in-memory one or a ``file:`` URI."""
    if not url.startswith("sqlite") or is_memory_url(url):
        return None
    database = make_url(url).database
    if not database or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def make_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite gets WAL + synchronous=FULL; in-memory SQLite shares one connection."""
    if url.startswith("sqlite"):
        memory = is_memory_url(url)
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if memory:
            kwargs["poolclass"] = StaticPool
        elif (path := sqlite_file(url)) is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine, revision: str = "head", *, down: bool = False) -> None:
    """Bring the schema to ``revision`` with the bundled Alembic migrations (``down``: downgrade to it).

    SQLite changes a column by copying its table and dropping the old one; a table other tables refer to
    (``evaluation_outputs``) cannot be dropped with foreign keys on. So on SQLite the migrations run with
    them off (switched while no transaction is open, as SQLite requires), every reference is checked
    before the commit (``PRAGMA foreign_key_check``: any dangling one rolls the migration back), and
    they are switched on again, as SQLite's own procedure for such changes prescribes."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                (command.downgrade if down else command.upgrade)(cfg, revision)
                if sqlite and (dangling := conn.exec_driver_sql("PRAGMA foreign_key_check").all()):
                    table, rowid, parent = dangling[0][:3]
                    raise RuntimeError(
                        f"migration to {revision} rolled back: {len(dangling)} dangling reference(s), e.g. "
                        f"{table} row {rowid} -> {parent}"
                    )
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
        except Exception:  # table missing: an empty database
            return None


def writer_lock_path(engine: Engine) -> Path | None:
    """``<database file>.writer-lock`` for a SQLite file database; None in memory."""
    db = sqlite_file(engine.url.render_as_string(hide_password=False))
    return db.with_name(db.name + ".writer-lock") if db is not None else None
