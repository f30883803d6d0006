"""alerts: what a person must see about a number (account_update events that change no state, and
disconnections)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00

A new table, and `numbers.last_webhook_at` (when a webhook about the number was last received, to
the minute), added as a column (ALTER TABLE ADD COLUMN on SQLite too).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("number_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("details", sa.JSON(none_as_null=True)),
        sa.Column("opened_at", sa.BigInteger, nullable=False),
        sa.Column("resolved_at", sa.BigInteger),
        sa.Column("source_event_id", sa.BigInteger),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["number_id"], ["numbers.id"], name=op.f("fk_alerts_number_id_numbers")),
        sa.ForeignKeyConstraint(
            ["source_event_id"], ["account_events.id"], name=op.f("fk_alerts_source_event_id_account_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("source_event_id", name="uq_alerts_source_event_id"),
    )
    op.create_index("ix_alerts_number_open", "alerts", ["number_id", "resolved_at"])
    op.add_column("numbers", sa.Column("last_webhook_at", sa.BigInteger))


def downgrade() -> None:
    with op.batch_alter_table("numbers") as batch:
        batch.drop_column("last_webhook_at")
    op.drop_index("ix_alerts_number_open", table_name="alerts")
    op.drop_table("alerts")
