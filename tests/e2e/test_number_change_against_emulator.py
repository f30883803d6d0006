"""A customer changes their number, as the emulator (the independent oracle) tells it to the gateway.

The emulator plays the customer and Meta in-process and builds the webhooks itself (the `system`
message from the old number, without contacts[]); the exact bytes it signed go to the real gateway
app, in the order sent or reversed (Meta does not promise an order), and the REST API must show one
person under the new number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.emulator import test_phone
from tests.emulator.test_phone import APP_SECRET, BASIC, PNID, SHEENA, Emulator
from tests.gateway import running_gateway

pytestmark = pytest.mark.anyio
anyio_backend, emu = test_phone.anyio_backend, test_phone.emu

NEW = "12195555358"


@pytest.mark.parametrize("order", ["as_sent", "reversed"])
async def test_the_gateway_follows_a_customer_to_their_new_number(
    emu: Emulator, db_url: str, tmp_path: Path, order: str
) -> None:
    await emu.scenario(BASIC)
    await emu.onboard()
    await emu.ok("/_emulator/flush")
    emu.clear()
    await emu.ok(f"/_emulator/customers/{SHEENA}/send", {"to": PNID, "text": "from my old phone"})
    await emu.advance("+1m")
    system: dict[str, Any] = {
        "body": f"User Sheena Nelson changed from {SHEENA} to {NEW}",
        "wa_id": NEW,
        "type": "user_changed_number",
    }
    await emu.ok(f"/_emulator/customers/{SHEENA}/send", {"to": PNID, "type": "system", "system": system})
    await emu.advance("+1m")
    await emu.ok("/_emulator/customers", {"wa_id": NEW, "name": "Sheena Nelson"})
    await emu.ok(f"/_emulator/customers/{NEW}/send", {"to": PNID, "text": "from my new phone"})
    await emu.ok("/_emulator/flush")
    webhooks = [r for r in emu.received if '"messages"' in r.body.decode()]
    assert len(webhooks) == 3
    assert "contacts" not in webhooks[1].json["entry"][0]["changes"][0]["value"]  # as Meta documents

    with running_gateway(db_url, tmp_path, app_secrets=[APP_SECRET]) as gw:
        gw.register()
        for hook in webhooks if order == "as_sent" else webhooks[::-1]:
            headers = {"x-hub-signature-256": hook.headers["x-hub-signature-256"]}
            response = gw.client.post("/webhooks/whatsapp", content=hook.body, headers=headers)
            assert response.status_code == 200, response.text
            gw.drain()
        [conv] = [c for c in gw.conversations() if c["contact"]["wa_id"] in (SHEENA, NEW)]
        assert conv["contact"]["wa_id"] == NEW
        assert conv["contact"]["display_name"] == "Sheena Nelson"
        assert conv["counts"] == {"messages": 3, "history": 0, "unread": 2}
        texts = [m["text"] for m in gw.messages(conv["id"])]
        assert texts == ["from my old phone", system["body"], "from my new phone"]
        assert gw.scalar("SELECT count(*) FROM contacts") == 1
