"""receipt bodies apart from their state; the read API's orders as indexes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:00:00

A receipt's body (up to a few MB) moves to `receipt_bodies`, so marking a receipt done, retrying
or parking it rewrites only its small state row (it rewrote the whole body: 17 ms and ~6 MB of WAL
per 3 MB receipt). `receipts.size` keeps the body's length for claims and listings.

The conversation list (newest activity first) and a conversation's messages (oldest first) page by
expressions that matched no index, so every page sorted the whole set. Each gets an index on exactly
its expressions (computed by the database, nothing for the apply to write); they replace the
column indexes they extend.
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

    op.drop_index("ix_conversations_inbox", table_name="conversations")
    op.create_index(
        "ix_conversations_activity",
        "conversations",
        ["number_id", sa.text("coalesce(last_message_at, 0)"), "id"],
    )
    op.drop_index("ix_messages_timeline", table_name="messages")
    op.create_index(
        "ix_messages_timeline_at",
        "messages",
        ["conversation_id", sa.text("coalesce(occurred_at, received_at)"), "wamid"],
    )


def downgrade() -> None:
    op.drop_index("ix_messages_timeline_at", table_name="messages")
    op.create_index("ix_messages_timeline", "messages", ["conversation_id", "occurred_at", "wamid"])
    op.drop_index("ix_conversations_activity", table_name="conversations")
    op.create_index("ix_conversations_inbox", "conversations", ["number_id", "last_message_at", "id"])
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE receipts SET body = (SELECT b.body FROM receipt_bodies b WHERE b.receipt_id = receipts.id)"
    )
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.alter_column("body", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("size")
    op.drop_table("receipt_bodies")
