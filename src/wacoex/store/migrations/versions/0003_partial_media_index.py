"""partial media index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:49:44.405350
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_media"))
        batch_op.create_index(
            "ix_messages_media_due",
            ["media_next_at"],
            unique=False,
            sqlite_where=sa.text("media_state = 'pending'"),
            postgresql_where=sa.text("media_state = 'pending'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_messages_media_due",
            sqlite_where=sa.text("media_state = 'pending'"),
            postgresql_where=sa.text("media_state = 'pending'"),
        )
        batch_op.create_index(batch_op.f("ix_messages_media"), ["media_state", "media_next_at"], unique=False)
