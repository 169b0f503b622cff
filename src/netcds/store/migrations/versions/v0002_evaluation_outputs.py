"""Evaluation outputs stored once by content hash (``evaluation_outputs``), referenced by evaluations.

The same patient evaluated again with the same knowledge gives byte-identical output (the engine is
deterministic), so an EHR opening the same chart many times no longer stores the same ~200 KB
document each time. Existing outputs move to the new table; nothing is lost.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_outputs",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("output_json", sa.Text, nullable=False),
    )
    op.execute(
        "INSERT INTO evaluation_outputs (hash, output_json) "
        "SELECT output_hash, MIN(output_json) FROM evaluations GROUP BY output_hash"
    )
    with op.batch_alter_table("evaluations") as batch:
        batch.drop_column("output_json")
        batch.create_foreign_key("fk_evaluations_output", "evaluation_outputs", ["output_hash"], ["hash"])


def downgrade() -> None:
    with op.batch_alter_table("evaluations") as batch:
        batch.drop_constraint("fk_evaluations_output", type_="foreignkey")
        batch.add_column(sa.Column("output_json", sa.Text, nullable=True))
    op.execute(
        "UPDATE evaluations SET output_json = "
        "(SELECT o.output_json FROM evaluation_outputs o WHERE o.hash = evaluations.output_hash)"
    )
    with op.batch_alter_table("evaluations") as batch:
        batch.alter_column("output_json", existing_type=sa.Text, nullable=False)
    op.drop_table("evaluation_outputs")
