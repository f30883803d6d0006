"""The cost ledger's rows: API messages with the `pricing` their status webhooks recorded."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wacoex.domain.costs import PricedMessage
from wacoex.domain.enums import Direction, MessageStatus, Origin
from wacoex.services.ports import CostRows
from wacoex.store.tables import MESSAGE_SORT_AT, contacts, conversations, messages, numbers

# Meta charges a template once it is delivered; `read` and `played` come after delivery (a `read`
# may arrive without a `delivered` before it).
_DELIVERED = frozenset(s.value for s in (MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED))


class SqlCosts:
    """Reads on `read_engine` (on SQLite a read-only engine: never the write lock)."""

    def __init__(self, read_engine: Engine) -> None:
        self._read = read_engine

    def cost_rows(
        self, phone_number_id: str, *, since: int | None, until: int | None, workspace_id: int | None = None
    ) -> CostRows | None:
        n, m, c, k = numbers.c, messages.c, conversations.c, contacts.c
        find = sa.select(n.id).where(n.phone_number_id == phone_number_id)
        if workspace_id is not None:
            find = find.where(n.workspace_id == workspace_id)
        with self._read.connect() as conn:
            number_id = conn.execute(find).scalar()
            if number_id is None:
                return None
            in_period: list[Any] = [m.number_id == number_id]
            if since is not None:
                in_period.append(since <= MESSAGE_SORT_AT)
            if until is not None:
                in_period.append(until > MESSAGE_SORT_AT)
            api = (
                sa.select(m.pricing, m.status, k.wa_id, k.user_id)
                .select_from(messages)
                .outerjoin(conversations, c.id == m.conversation_id)
                .outerjoin(contacts, k.id == c.contact_id)
                .where(*in_period, m.origin == Origin.API.value, m.direction == Direction.OUTBOUND.value)
            )
            rows = conn.execute(api).all()
            app = conn.execute(
                sa.select(sa.func.count())
                .select_from(messages)
                .where(*in_period, m.origin == Origin.BUSINESS_APP.value)
            ).scalar_one()
        priced: list[PricedMessage] = []
        awaiting = 0
        for pricing, status, wa_id, user_id in rows:
            if isinstance(pricing, dict):
                priced.append(
                    PricedMessage(recipient=wa_id or user_id, pricing=pricing, delivered=status in _DELIVERED)
                )
            elif status != MessageStatus.FAILED.value:
                awaiting += 1
        return CostRows(priced=priced, app_messages=int(app), awaiting_pricing=awaiting)
