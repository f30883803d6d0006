"""onboarding: each onboarding of a number, the persisted intents of its one-shot syncs, and the
phone's heartbeat acknowledgement and what Meta last said of the number (is_on_biz_app,
platform_type, throughput level, quality rating)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "onboardings",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("number_id", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("deadline_at", sa.BigInteger, nullable=False),
        sa.Column("ended_at", sa.BigInteger),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["number_id"], ["numbers.id"], name=op.f("fk_onboardings_number_id_numbers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboardings")),
    )
    op.create_index("ix_onboardings_number", "onboardings", ["number_id", "ended_at"])
    op.create_table(
        "sync_requests",
        sa.Column("onboarding_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("number_id", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(128)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("attempted_at", sa.BigInteger),
        sa.Column("answered_at", sa.BigInteger),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("seen_at", sa.BigInteger),
        sa.Column("error_code", sa.Integer),
        sa.Column("error_message", sa.Text),
        sa.ForeignKeyConstraint(
            ["onboarding_id"], ["onboardings.id"], name=op.f("fk_sync_requests_onboarding_id_onboardings")
        ),
        sa.ForeignKeyConstraint(
            ["number_id"], ["numbers.id"], name=op.f("fk_sync_requests_number_id_numbers")
        ),
        sa.PrimaryKeyConstraint("onboarding_id", "kind", name=op.f("pk_sync_requests")),
    )
    op.create_index("ix_sync_requests_state", "sync_requests", ["state", "next_attempt_at"])
    op.create_index("ix_sync_requests_number", "sync_requests", ["number_id", "kind"])
    op.add_column("numbers", sa.Column("heartbeat_ack_at", sa.BigInteger))
    op.add_column("numbers", sa.Column("is_on_biz_app", sa.Boolean))
    op.add_column("numbers", sa.Column("platform_type", sa.String(32)))
    op.add_column("numbers", sa.Column("biz_app_checked_at", sa.BigInteger))
    op.add_column("numbers", sa.Column("throughput_level", sa.String(32)))
    op.add_column("numbers", sa.Column("quality_rating", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("numbers") as batch:
        for column in (
            "quality_rating",
            "throughput_level",
            "biz_app_checked_at",
            "platform_type",
            "is_on_biz_app",
            "heartbeat_ack_at",
        ):
            batch.drop_column(column)
    op.drop_index("ix_sync_requests_number", table_name="sync_requests")
    op.drop_index("ix_sync_requests_state", table_name="sync_requests")
    op.drop_table("sync_requests")
    op.drop_index("ix_onboardings_number", table_name="onboardings")
    op.drop_table("onboardings")
