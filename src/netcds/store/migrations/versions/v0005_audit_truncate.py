"""The audit log refuses TRUNCATE too on PostgreSQL.

Migration 0001 made ``audit_log`` append-only with a row trigger on UPDATE and DELETE; PostgreSQL's
TRUNCATE fires no row trigger, so it could still empty the log. A statement trigger now refuses it (the
function of 0001 raises for any event). SQLite has no TRUNCATE (its ``DELETE FROM`` is refused by the row
trigger already): nothing to do there. The downgrade drops the trigger.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION netcds_audit_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
