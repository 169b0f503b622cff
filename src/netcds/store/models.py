"""The store's tables (SQLAlchemy 2 declarative models).

The schema itself is created and changed only by the Alembic migrations in
``migrations/versions``; these models must match them (a test checks it).
Patient records live in ``case_versions.patient_json`` and ``evaluations.input_json``
only (outputs, in ``evaluation_outputs``, are stored once per content hash); the audit
log holds ids and hashes, never patient content.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class CaseRow(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(300))
    latest_version: Mapped[int] = mapped_column(Integer)


class CaseVersionRow(Base):
    __tablename__ = "case_versions"

    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_json: Mapped[str] = mapped_column(Text)
    patient_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(300))


class EvaluationRow(Base):
    __tablename__ = "evaluations"
    __table_args__ = (
        Index("ix_evaluations_case", "case_id", "case_version"),
        Index("ix_evaluations_input_hash", "input_hash"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    origin: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("cases.id"), nullable=True)
    case_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    input_json: Mapped[str] = mapped_column(Text)
    input_hash: Mapped[str] = mapped_column(String(64))
    guideline_id: Mapped[str] = mapped_column(String(100))
    guideline_version: Mapped[str] = mapped_column(String(50))
    knowledge_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    engine_version: Mapped[str] = mapped_column(String(100))
    output_hash: Mapped[str] = mapped_column(
        String(64), ForeignKey("evaluation_outputs.hash", name="fk_evaluations_output")
    )
    service_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    hook_instance: Mapped[str | None] = mapped_column(String(100), nullable=True)
    card_uuids: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class EvaluationOutputRow(Base):
    """An evaluation's output document, stored once per content hash (sha256 of the JSON text): zstd
    compressed in ``output_zstd`` (``store/outputs.py``), or as text in ``output_json`` for rows written
    before schema revision 0003; exactly one of the two is set."""

    __tablename__ = "evaluation_outputs"
    __table_args__ = (
        CheckConstraint(
            "(output_json IS NULL) <> (output_zstd IS NULL)", name="ck_evaluation_outputs_one_form"
        ),
    )

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    output_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    output_zstd: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class FeedbackRow(Base):
    __tablename__ = "hook_feedback"
    __table_args__ = (Index("ix_hook_feedback_card", "card_uuid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(100))
    card_uuid: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20))
    accepted_suggestions: Mapped[str | None] = mapped_column(Text, nullable=True)
    override_system: Mapped[str | None] = mapped_column(String(300), nullable=True)
    override_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    override_display: Mapped[str | None] = mapped_column(String(300), nullable=True)
    user_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome_timestamp: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class IssuedCardRow(Base):
    """A card a CDS service returned (once per service and card uuid; uuids are derived from the card's
    content and input, so a chart opened again issues the same ones), with its suggestions' uuids: what
    feedback is checked against. ``suggestion_uuids`` is a JSON list, NULL when it was not recorded
    (cards taken over from ``evaluations.card_uuids`` by migration 0004)."""

    __tablename__ = "issued_cards"

    service_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    card_uuid: Mapped[str] = mapped_column(String(100), primary_key=True)
    suggestion_uuids: Mapped[str | None] = mapped_column(Text, nullable=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """Append-only: the migration installs triggers refusing UPDATE and DELETE."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


class UsedTokenRow(Base):
    """JWT ids already presented, kept until they expire (replay protection)."""

    __tablename__ = "used_jti"
    __table_args__ = (Index("ix_used_jti_expires", "expires_at"),)

    iss: Mapped[str] = mapped_column(String(300), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger)
