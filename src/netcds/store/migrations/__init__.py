"""Alembic migrations of the netcds store (run programmatically by ``netcds.store.migrate``)."""
