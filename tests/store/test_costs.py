"""The cost ledger's rows as the store reads them: per number, per period, per workspace."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tests import payloads as p
from tests.gateway import running_gateway
from wacoex.store.costs import SqlCosts
from wacoex.store.tables import numbers

T = 1_760_000_000
PRICING = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"}


def test_rows_name_the_recipient_and_whether_the_message_was_delivered(db_url: str, tmp_path: Path) -> None:
    with running_gateway(db_url, tmp_path) as gw:
        gw.register()
        gw.deliver(p.status("wamid.a", "sent", T, recipient="5511987654321", pricing=PRICING))
        gw.deliver(p.status("wamid.b", "sent", T + 1, recipient="919876543210", pricing=PRICING))
        gw.deliver(p.status("wamid.b", "delivered", T + 2, recipient="919876543210", pricing=PRICING))
        # A recipient known only by its BSUID (a user who hides the phone number).
        bsuid = p.status("wamid.c", "delivered", T + 3, recipient="", pricing=PRICING)
        item = bsuid["entry"][0]["changes"][0]["value"]["statuses"][0]
        del item["recipient_id"]
        item["recipient_user_id"] = "BR.1502576394655843"
        gw.deliver(bsuid)
        gw.deliver(p.status("wamid.d", "delivered", T + 4))  # no pricing yet
        gw.deliver(p.status("wamid.e", "failed", T + 5))  # failed: never priced, never awaited
        gw.deliver(p.echo("wamid.f", "16505551234", T + 6))
        costs = SqlCosts(gw.container.read_engine)

        rows = costs.cost_rows(p.PNID, since=None, until=None)
        assert rows is not None
        got = sorted((m.recipient, m.delivered, m.pricing["category"]) for m in rows.priced)
        assert got == [
            ("5511987654321", False, "marketing"),
            ("919876543210", True, "marketing"),
            ("BR.1502576394655843", True, "marketing"),
        ]
        assert (rows.app_messages, rows.awaiting_pricing) == (1, 1)

        window = costs.cost_rows(p.PNID, since=(T + 1) * 1000, until=(T + 3) * 1000)
        assert window is not None
        assert [m.recipient for m in window.priced] == ["919876543210"]
        assert (window.app_messages, window.awaiting_pricing) == (0, 0)

        assert costs.cost_rows("999", since=None, until=None) is None
        assert costs.cost_rows(p.PNID, since=None, until=None, workspace_id=1) is not None
        with gw.container.engine.begin() as conn:
            conn.execute(sa.update(numbers).values(workspace_id=2))
        assert costs.cost_rows(p.PNID, since=None, until=None, workspace_id=1) is None
        assert costs.cost_rows(p.PNID, since=None, until=None, workspace_id=2) is not None
