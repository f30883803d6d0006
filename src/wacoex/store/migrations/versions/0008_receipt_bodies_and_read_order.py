"""receipt bodies apart from their state

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:00:00

A receipt's body (up to a few MB) moves to `receipt_bodies`, so marking a receipt done, retrying
or parking it rewrites only its small state row (it rewrote the whole body: 17 ms and ~6 MB of WAL
per 3 MB receipt). `receipts.size` keeps the body's length for claims and listings.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "receipt_bodies",
        sa.Column("receipt_id", _BigId, autoincrement=False, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_id"], ["receipts.id"], name=op.f("fk_receipt_bodies_receipt_id_receipts")
        ),
        sa.PrimaryKeyConstraint("receipt_id", name=op.f("pk_receipt_bodies")),
    )
    op.execute("INSERT INTO receipt_bodies (receipt_id, body) SELECT id, body FROM receipts")
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("size", sa.Integer(), nullable=True))
    op.execute("UPDATE receipts SET size = length(body)")
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.alter_column("size", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("body")


def downgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE receipts SET body = (SELECT b.body FROM receipt_bodies b WHERE b.receipt_id = receipts.id)"
    )
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.alter_column("body", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("size")
    op.drop_table("receipt_bodies")
