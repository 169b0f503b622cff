"""Evaluation outputs stored zstd-compressed (``evaluation_outputs.output_zstd``).

New outputs are written compressed (``netcds.store.outputs``: about 6x smaller, and cheaper to write
than the text they replace). Rows already stored keep their text in ``output_json``, which becomes
nullable; a check constraint keeps exactly one of the two forms per row. The downgrade writes every
compressed output back as text first, so nothing is lost either way.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from netcds.store.outputs import output_text

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ONE_FORM = "ck_evaluation_outputs_one_form"


def upgrade() -> None:
    with op.batch_alter_table("evaluation_outputs") as batch:
        batch.add_column(sa.Column("output_zstd", sa.LargeBinary, nullable=True))
        batch.alter_column("output_json", existing_type=sa.Text, nullable=True)
        batch.create_check_constraint(ONE_FORM, "(output_json IS NULL) <> (output_zstd IS NULL)")


def downgrade() -> None:
    conn = op.get_bind()
    outputs = sa.table(
        "evaluation_outputs",
        sa.column("hash", sa.String),
        sa.column("output_json", sa.Text),
        sa.column("output_zstd", sa.LargeBinary),
    )
    with op.batch_alter_table("evaluation_outputs") as batch:
        batch.drop_constraint(ONE_FORM, type_="check")
    digests = conn.scalars(sa.select(outputs.c.hash).where(outputs.c.output_zstd.is_not(None))).all()
    for digest in digests:  # one document at a time: a whole table of them need not fit in memory
        blob = conn.scalar(sa.select(outputs.c.output_zstd).where(outputs.c.hash == digest))
        conn.execute(
            outputs.update()
            .where(outputs.c.hash == digest)
            .values(output_json=output_text(None, blob), output_zstd=None)
        )
    with op.batch_alter_table("evaluation_outputs") as batch:
        batch.alter_column("output_json", existing_type=sa.Text, nullable=False)
        batch.drop_column("output_zstd")
