"""media retry schedule

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:09:00.195394
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("media_next_at", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.drop_index(batch_op.f("ix_messages_media"))
        batch_op.create_index("ix_messages_media", ["media_state", "media_next_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_media")
        batch_op.create_index(batch_op.f("ix_messages_media"), ["media_state"], unique=False)
        batch_op.drop_column("media_next_at")
        batch_op.drop_column("media_attempts")
