"""contact aliases: the numbers a customer had before a user_changed_number, still routed to them

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        # Meta's time of the number change that set the contact's phone (NULL: never changed).
        batch_op.add_column(sa.Column("phone_changed_at", sa.BigInteger(), nullable=True))
    op.create_table(
        "contact_aliases",
        sa.Column("number_id", sa.BigInteger(), nullable=False),
        sa.Column("phone_key", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("wa_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["number_id"], ["numbers.id"], name=op.f("fk_contact_aliases_number_id_numbers")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_aliases_contact_id_contacts")
        ),
        sa.PrimaryKeyConstraint("number_id", "phone_key", name=op.f("pk_contact_aliases")),
    )
    op.create_index("ix_contact_aliases_contact", "contact_aliases", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_contact_aliases_contact", table_name="contact_aliases")
    op.drop_table("contact_aliases")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("phone_changed_at")
