"""Initial schema: cases and their versions, evaluations, CDS Hooks feedback, audit log, used JWT ids.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(300), nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "case_versions",
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("patient_json", sa.Text, nullable=False),
        sa.Column("patient_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(300), nullable=False),
    )
    op.create_table(
        "evaluations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("case_version", sa.Integer, nullable=True),
        sa.Column("input_json", sa.Text, nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("guideline_id", sa.String(100), nullable=False),
        sa.Column("guideline_version", sa.String(50), nullable=False),
        sa.Column("knowledge_digest", sa.String(64), nullable=True),
        sa.Column("engine_version", sa.String(100), nullable=False),
        sa.Column("output_json", sa.Text, nullable=False),
        sa.Column("output_hash", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(100), nullable=True),
        sa.Column("hook_instance", sa.String(100), nullable=True),
        sa.Column("card_uuids", sa.Text, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(300), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_evaluations_case", "evaluations", ["case_id", "case_version"])
    op.create_index("ix_evaluations_input_hash", "evaluations", ["input_hash"])
    op.create_table(
        "hook_feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("card_uuid", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("accepted_suggestions", sa.Text, nullable=True),
        sa.Column("override_system", sa.String(300), nullable=True),
        sa.Column("override_code", sa.String(100), nullable=True),
        sa.Column("override_display", sa.String(300), nullable=True),
        sa.Column("user_comment", sa.Text, nullable=True),
        sa.Column("outcome_timestamp", sa.String(40), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_hook_feedback_card", "hook_feedback", ["card_uuid"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_table(
        "used_jti",
        sa.Column("iss", sa.String(300), primary_key=True),
        sa.Column("jti", sa.String(200), primary_key=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_used_jti_expires", "used_jti", ["expires_at"])
    _append_only_audit()


def _append_only_audit() -> None:
    """Refuse UPDATE and DELETE on the audit log at the database level."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION netcds_audit_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION netcds_audit_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS netcds_audit_append_only()")
    for table in ("used_jti", "audit_log", "hook_feedback", "evaluations", "case_versions", "cases"):
        op.drop_table(table)
