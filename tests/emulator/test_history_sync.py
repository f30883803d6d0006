"""History export over HTTP: smb_app_data history after onboarding, 1:1 chats only, media follow-ups
for the last 14 days, the 2593109 decline, and the once / 24 h rules the platform enforces."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator import test_phone
from tests.emulator.test_phone import BASIC, BUSINESS, PABLO, PNID, SHEENA, Emulator

pytestmark = pytest.mark.anyio
anyio_backend, emu = test_phone.anyio_backend, test_phone.emu
SYNC = {"messaging_product": "whatsapp", "sync_type": "history"}
CHATS = [
    {
        "wa_id": PABLO,
        "messages": [
            {"ago": "12h", "from": "business", "text": "Here's the info you requested!"},
            {"ago": "11h", "from": "customer", "text": "Thanks!"},
            {"ago": "3d", "from": "customer", "type": "image", "caption": "recent photo"},
            {"ago": "30d", "from": "business", "type": "image", "caption": "old photo"},
            {"ago": "200d", "from": "customer", "text": "too old"},
        ],
    },
    {"wa_id": SHEENA, "messages": [{"ago": "120d", "from": "business", "text": "Thanks for your order!"}]},
    {"group": True, "id": "120363025246125888@g.us", "messages": [{"ago": "2d", "text": "group chatter"}]},
]


async def _history(emu: Emulator, *, share: bool = True) -> list[dict[str, Any]]:
    numbers = [{**BASIC["numbers"][0], "history": {"chats": CHATS}}]
    await emu.scenario({**BASIC, "numbers": numbers})
    await emu.onboard(share_history=share)
    response = await emu.graph(f"{PNID}/smb_app_data", SYNC)
    assert response.status_code == 200, response.text
    assert response.json()["request_id"]
    return emu.values("history")


async def test_shared_history_arrives_in_phases_with_placeholders_and_recent_media(emu: Emulator) -> None:
    values = await _history(emu)
    chunks = [c for v in values for c in v.get("history", [])]
    assert {c["metadata"]["phase"] for c in chunks} == {0, 1, 2}
    assert max(c["metadata"]["progress"] for c in chunks) == 100
    messages = {m["id"]: (t["id"], m) for c in chunks for t in c["threads"] for m in t["messages"]}
    texts = {m.get("text", {}).get("body") for _, m in messages.values()}
    assert "too old" not in texts
    assert "group chatter" not in texts
    assert {thread for thread, _ in messages.values()} == {PABLO, SHEENA}
    placeholders = [m for _, m in messages.values() if m["type"] == "media_placeholder"]
    assert len(placeholders) == 2
    followups = [m for v in values for m in v.get("messages", [])]
    [recent] = followups
    assert recent["image"]["caption"] == "recent photo"
    assert recent["id"] in messages
    assert recent["from"] == PABLO
    for value in values:
        assert value["metadata"] == {"display_phone_number": BUSINESS, "phone_number_id": PNID}
    outbound = [m for _, m in messages.values() if m["from"] == BUSINESS]
    assert all(m["to"] in (PABLO, SHEENA) for m in outbound)


async def test_declined_history_is_a_single_2593109_webhook(emu: Emulator) -> None:
    [value] = await _history(emu, share=False)
    assert value["history"][0]["errors"][0]["code"] == 2593109


async def test_history_can_be_requested_once_and_within_24_hours(emu: Emulator) -> None:
    await _history(emu)
    again = await emu.graph(f"{PNID}/smb_app_data", SYNC)
    assert again.json()["error"]["code"] == 2593107
    await emu.advance("+25h")
    await emu.ok(f"/_emulator/numbers/{PNID}/app/open")
    late = await emu.graph(f"{PNID}/smb_app_data", {**SYNC, "sync_type": "smb_app_state_sync"})
    assert late.json()["error"]["code"] == 2593108


async def test_history_never_opens_the_window(emu: Emulator) -> None:
    await _history(emu)
    assert emu.world.chat(PNID, PABLO).last_customer_message_at is None
