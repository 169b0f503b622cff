"""The cards each CDS service issued (``issued_cards``), so feedback can be checked against them.

One row per service and card uuid (the primary key is the lookup feedback makes), with the uuids of the
card's suggestions. Cards already recorded with stored hook evaluations (``evaluations.card_uuids``)
are taken over, without suggestion uuids (they were never stored): feedback on those cards stays
accepted after the upgrade. The downgrade drops the table.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CHUNK = 500


def upgrade() -> None:
    issued = op.create_table(
        "issued_cards",
        sa.Column("service_id", sa.String(100), primary_key=True),
        sa.Column("card_uuid", sa.String(100), primary_key=True),
        sa.Column("suggestion_uuids", sa.Text, nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    )
    evaluations = sa.table(
        "evaluations",
        sa.column("service_id", sa.String),
        sa.column("card_uuids", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    first: dict[tuple[str, str], datetime] = {}  # (service, card) -> when it was first issued
    query = sa.select(evaluations.c.service_id, evaluations.c.card_uuids, evaluations.c.created_at).where(
        evaluations.c.service_id.is_not(None), evaluations.c.card_uuids.is_not(None)
    )
    for service_id, card_uuids, created_at in op.get_bind().execute(query):
        for card in json.loads(card_uuids):
            key = (service_id, card)
            if key not in first or created_at < first[key]:
                first[key] = created_at
    rows: list[dict[str, Any]] = [
        {"service_id": s, "card_uuid": c, "suggestion_uuids": None, "issued_at": at}
        for (s, c), at in first.items()
    ]
    for i in range(0, len(rows), CHUNK):
        op.bulk_insert(issued, rows[i : i + CHUNK])


def downgrade() -> None:
    op.drop_table("issued_cards")
