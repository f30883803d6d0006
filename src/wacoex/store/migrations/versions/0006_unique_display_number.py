"""unique display number

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00.000000

Webhooks and history are matched to a number by its display number, so two numbers may not share
one. A database that already has such numbers is not changed: the migration stops and names them,
since only the operator knows which registration is wrong.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from wacoex.errors import Conflict

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    numbers = sa.table("numbers", sa.column("phone_number_id"), sa.column("display_phone_number"))
    shared = (
        sa.select(numbers.c.display_phone_number)
        .group_by(numbers.c.display_phone_number)
        .having(sa.func.count() > 1)
    )
    rows = op.get_bind().execute(
        sa.select(numbers.c.display_phone_number, numbers.c.phone_number_id)
        .where(numbers.c.display_phone_number.in_(shared))
        .order_by(numbers.c.display_phone_number, numbers.c.phone_number_id)
    )
    clashes: dict[str, list[str]] = {}
    for display, pnid in rows:
        clashes.setdefault(display, []).append(pnid)
    if clashes:
        listed = "; ".join(
            f"+{display} is registered for numbers {', '.join(p)}" for display, p in clashes.items()
        )
        raise Conflict(
            f"cannot make display numbers unique (migration 0006): {listed}. Correct or delete all but "
            "one number of each (docs/configuration.md), then run `wacoex db upgrade` again"
        )
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.create_index("uq_numbers_display_phone_number", ["display_phone_number"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.drop_index("uq_numbers_display_phone_number")
