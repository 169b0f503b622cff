"""Opening a database that must already exist: for commands that only read (``evaluations replay``).

``Store.open`` creates what is missing (the SQLite file, its folder, the schema), which is right for the
server and wrong for a reading command: asked about a database that is not there, it must say so and
leave no file behind.
"""

from __future__ import annotations

from sqlalchemy import inspect

from netcds.store.repo import Store, make_engine, migrate, sqlite_file


class MissingDatabaseError(LookupError):
    """The database does not exist (no SQLite file) or holds no netcds schema."""


def open_existing(url: str) -> Store:
    """The store at ``url`` if it exists and holds the netcds schema (brought up to date), else
    :class:`MissingDatabaseError`; nothing is created: no file, folder, schema or writer-lock file."""
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise MissingDatabaseError(f"no database file {path}")
    if path is not None and path.stat().st_size == 0:  # SQLite would write its header into it
        raise MissingDatabaseError(f"{path} is empty (not a netcds database)")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                raise MissingDatabaseError("it holds no netcds tables (not a netcds database)")
        migrate(engine)  # an older netcds schema is upgraded, as Store.open does
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, writer_lock_file=False)
