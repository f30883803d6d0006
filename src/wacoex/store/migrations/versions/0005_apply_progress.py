"""apply progress: a receipt applied in several transactions resumes where it stopped

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        # Units of the receipt already applied by an unfinished application (NULL: none).
        batch_op.add_column(sa.Column("progress", sa.Integer(), nullable=True))
    # Re-applying a receipt first forgets its unknown items: by index, not by a scan of all of them.
    op.create_index("ix_unknown_items_receipt", "unknown_items", ["receipt_id"])


def downgrade() -> None:
    op.drop_index("ix_unknown_items_receipt", table_name="unknown_items")
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_column("progress")
