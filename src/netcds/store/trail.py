"""The store's append-mostly trail: CDS Hooks feedback, the audit log and used JWT ids.

Audit entries and token ids go through the store's group commit (``batch.py``); a caller returns
once its transaction has committed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from netcds.store.batch import GroupCommit, queue_insert
from netcds.store.models import AuditRow, FeedbackRow, UsedTokenRow
from netcds.store.records import AuditInfo, FeedbackInfo

AUDIT = cast(Table, AuditRow.__table__)


def now_utc() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Trail:
    """Mixed into :class:`netcds.store.repo.Store`, which provides the transactions and the batcher."""

    _batch: GroupCommit

    def _tx(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    # CDS Hooks feedback ------------------------------------------------------------------------------
    def record_feedback(
        self, service_id: str, items: Sequence[dict[str, Any]], actor: str, request_id: str | None = None
    ) -> list[int]:
        """Store feedback entries (already validated: card, outcome, acceptedSuggestions, overrideReason,
        outcomeTimestamp); returns their ids."""
        rows = []
        now = now_utc()
        for it in items:
            reason = (it.get("overrideReason") or {}).get("reason") or {}
            accepted = [a["id"] for a in it.get("acceptedSuggestions") or []]
            rows.append(
                FeedbackRow(
                    service_id=service_id,
                    card_uuid=it["card"],
                    outcome=it["outcome"],
                    accepted_suggestions=json.dumps(accepted) if accepted else None,
                    override_system=reason.get("system"),
                    override_code=reason.get("code"),
                    override_display=reason.get("display"),
                    user_comment=(it.get("overrideReason") or {}).get("userComment"),
                    outcome_timestamp=it["outcomeTimestamp"],
                    received_at=now,
                    actor=actor,
                    request_id=request_id,
                )
            )
        with self._write() as s:
            s.add_all(rows)
            s.flush()
            return [r.id for r in rows]

    def feedback(self, service_id: str | None = None, card_uuid: str | None = None) -> list[FeedbackInfo]:
        with self._tx() as s:
            q = select(FeedbackRow).order_by(FeedbackRow.id)
            if service_id:
                q = q.where(FeedbackRow.service_id == service_id)
            if card_uuid:
                q = q.where(FeedbackRow.card_uuid == card_uuid)
            return [
                FeedbackInfo(
                    id=r.id,
                    service_id=r.service_id,
                    card_uuid=r.card_uuid,
                    outcome=r.outcome,
                    accepted_suggestions=json.loads(r.accepted_suggestions) if r.accepted_suggestions else [],
                    override_system=r.override_system,
                    override_code=r.override_code,
                    override_display=r.override_display,
                    user_comment=r.user_comment,
                    outcome_timestamp=r.outcome_timestamp,
                    received_at=as_utc(r.received_at),
                    actor=r.actor,
                )
                for r in s.scalars(q).all()
            ]

    # audit log ---------------------------------------------------------------------------------------
    def audit(
        self,
        actor: str,
        action: str,
        target: str | None = None,
        request_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry: who, what, on which id, in which request. ``detail`` holds ids/hashes only."""
        self.submit_audit(actor, action, target, request_id, detail).result()

    def submit_audit(
        self,
        actor: str,
        action: str,
        target: str | None = None,
        request_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Future[None]:
        """Queue :meth:`audit`'s entry; the future resolves once it has committed."""
        text_detail = json.dumps(detail, sort_keys=True) if detail else None
        values = {"at": now_utc(), "actor": actor, "action": action, "target": target,
                  "request_id": request_id, "detail": text_detail}  # fmt: skip

        def append(s: Session) -> None:
            queue_insert(s, AUDIT, values)

        return self._batch.submit(append)

    def audit_log(self, limit: int = 100, action: str | None = None) -> list[AuditInfo]:
        with self._tx() as s:
            q = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
            if action:
                q = q.where(AuditRow.action == action)
            return [
                AuditInfo(
                    id=r.id,
                    at=as_utc(r.at),
                    actor=r.actor,
                    action=r.action,
                    target=r.target,
                    request_id=r.request_id,
                    detail=json.loads(r.detail) if r.detail else {},
                )
                for r in s.scalars(q).all()
            ]

    # JWT replay protection ---------------------------------------------------------------------------
    def use_token_id(self, iss: str, jti: str, expires_at: int) -> bool:
        """Record a JWT id; False when it was already used (a replay). Expired ids are purged."""
        now = int(time.time())

        def append(s: Session) -> None:
            s.execute(delete(UsedTokenRow).where(UsedTokenRow.expires_at < now - 600))
            s.add(UsedTokenRow(iss=iss, jti=jti, expires_at=expires_at))
            s.flush()  # a replay fails here, inside the batch, and is then isolated

        try:
            self._batch.run(append)
        except IntegrityError:
            return False
        return True
