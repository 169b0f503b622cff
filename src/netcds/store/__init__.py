"""Persistent store: cases (patient record versions), evaluations, CDS Hooks feedback, audit log.

SQLite by default (WAL, synchronous=FULL), PostgreSQL by URL; the schema is managed by
the Alembic migrations in ``migrations/`` and brought up to date when the store opens.
"""

from netcds.store.errors import NotFoundError
from netcds.store.replay import ReplayResult, replay
from netcds.store.repo import Store, make_engine, migrate

__all__ = ["NotFoundError", "ReplayResult", "Store", "make_engine", "migrate", "replay"]
