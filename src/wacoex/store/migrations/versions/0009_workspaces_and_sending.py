"""workspaces and roles; sends, templates, takeover and window columns for sending

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 09:00:00

Numbers and API keys now belong to a workspace; workspace 1, "default", is created here and every
existing number and key joins it (existing keys keep the rights they had: admin). Sending adds the
`sends` record (one row per send asked for, with its idempotency key), the synced `templates`, and
the conversation's takeover and window columns. Columns are only added (ALTER TABLE ADD COLUMN on
SQLite too), so the expression indexes of 0008 stay.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    workspaces = op.create_table(
        "workspaces",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("name", name=op.f("uq_workspaces_name")),
    )
    op.bulk_insert(workspaces, [{"id": 1, "name": "default", "created_at": int(time.time() * 1000)}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('workspaces', 'id'), 1)")

    op.add_column("numbers", sa.Column("workspace_id", sa.BigInteger(), server_default="1", nullable=False))
    op.add_column("numbers", sa.Column("send_rate", sa.Float(), nullable=True))
    op.create_index("ix_numbers_workspace", "numbers", ["workspace_id"])

    op.add_column("api_keys", sa.Column("workspace_id", sa.BigInteger(), server_default="1", nullable=False))
    op.add_column("api_keys", sa.Column("role", sa.String(length=16), server_default="admin", nullable=False))

    for name in (
        "takeover_until",
        "takeover_released_at",
        "takeover_announced_at",
        "takeover_ended_at",
        "window_closed_at",
        "fep_expires_at",
    ):
        op.add_column("conversations", sa.Column(name, sa.BigInteger(), nullable=True))

    op.create_table(
        "templates",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("waba_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("parameter_format", sa.String(length=16), nullable=True),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("components", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("synced_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
        sa.UniqueConstraint("waba_id", "name", "language", name="uq_templates_waba_name_language"),
    )

    op.create_table(
        "sends",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("number_id", sa.BigInteger(), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.BigInteger(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("route", sa.String(length=8), nullable=False),
        sa.Column("to_input", sa.String(length=64), nullable=False),
        sa.Column("wa_id", sa.String(length=32), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("body", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("queued", sa.Boolean(), nullable=False),
        sa.Column("wamid", sa.String(length=255), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("response", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("graph_code", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("estimated_cost", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["number_id"], ["numbers.id"], name=op.f("fk_sends_number_id_numbers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sends")),
    )
    op.create_index(
        "uq_sends_workspace_idempotency",
        "sends",
        ["workspace_id", "idempotency_key"],
        unique=True,
        sqlite_where=sa.text("idempotency_key IS NOT NULL"),
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_index(
        "ix_sends_due",
        "sends",
        ["next_attempt_at", "id"],
        sqlite_where=sa.text("state = 'queued'"),
        postgresql_where=sa.text("state = 'queued'"),
    )
    op.create_index("ix_sends_number_wamid", "sends", ["number_id", "wamid"])
    op.create_index("ix_sends_number_state", "sends", ["number_id", "state"])


def downgrade() -> None:
    op.drop_table("sends")
    op.drop_table("templates")
    # Dropping columns recreates the table on SQLite, which loses 0008's expression index.
    op.drop_index("ix_conversations_activity", table_name="conversations")
    with op.batch_alter_table("conversations") as batch_op:
        for name in (
            "fep_expires_at",
            "window_closed_at",
            "takeover_ended_at",
            "takeover_announced_at",
            "takeover_released_at",
            "takeover_until",
        ):
            batch_op.drop_column(name)
    op.create_index(
        "ix_conversations_activity",
        "conversations",
        ["number_id", sa.text("coalesce(last_message_at, 0)"), "id"],
    )
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_column("role")
        batch_op.drop_column("workspace_id")
    op.drop_index("ix_numbers_workspace", table_name="numbers")
    with op.batch_alter_table("numbers") as batch_op:
        batch_op.drop_column("send_rate")
        batch_op.drop_column("workspace_id")
    op.drop_table("workspaces")
