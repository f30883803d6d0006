"""The webhook dispatcher: envelope, signature over the exact bytes, routing, retries, delivery log."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from tests.emulator.conftest import CUSTOMER, Emu

pytestmark = pytest.mark.anyio


async def test_meta_webhooks_are_signed_over_the_exact_bytes(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid, text="héllo ✓")
    (item,) = emu.receiver.received
    expected = hmac.new(b"emulator-app-secret", item.body, hashlib.sha256).hexdigest()
    assert item.headers["x-hub-signature-256"] == f"sha256={expected}"
    assert item.headers["content-type"] == "application/json"
    assert b"\\u00e9" in item.body  # Meta's escaped-unicode form


async def test_envelope_matches_the_documented_shape(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    body = emu.receiver.received[0].json
    waba_id = emu.world.numbers[pnid].waba_id
    assert body["object"] == "whatsapp_business_account"
    (entry,) = body["entry"]
    assert entry["id"] == waba_id
    assert "time" not in entry
    (change,) = entry["changes"]
    assert change["field"] == "messages"
    assert change["value"]["metadata"] == {"display_phone_number": "15550783881", "phone_number_id": pnid}


async def test_account_update_entries_carry_an_integer_time(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.app_disconnect(pnid)
    updates = [
        r.json for r in emu.receiver.received if r.json["entry"][0]["changes"][0]["field"] == "account_update"
    ]
    assert updates
    assert isinstance(updates[-1]["entry"][0]["time"], int)


async def test_phone_number_override_beats_waba_override_beats_app_url(emu: Emu) -> None:
    pnid = await emu.coex_number()
    number = emu.world.numbers[pnid]
    await emu.customer_writes(pnid, text="1")
    emu.world.wabas[number.waba_id].override_callback_uri = "http://receiver/waba"
    await emu.customer_writes(pnid, text="2")
    number.webhook_url = "http://receiver/phone"
    await emu.customer_writes(pnid, text="3")
    assert [r.path for r in emu.receiver.received] == ["/meta", "/waba", "/phone"]


async def test_unsubscribed_waba_and_missing_url_are_logged_but_not_sent(emu: Emu) -> None:
    pnid = await emu.coex_number()
    emu.world.wabas[emu.world.numbers[pnid].waba_id].subscribed = False
    await emu.customer_writes(pnid)
    await emu.control.patch_config(webhook_url=None)
    emu.world.wabas[emu.world.numbers[pnid].waba_id].subscribed = True
    await emu.customer_writes(pnid)
    assert emu.receiver.received == []
    states = [d["state"] for d in await emu.control.webhooks(field="messages")]
    assert states == ["unsubscribed", "unrouted"]


async def test_non_200_is_retried_with_exponential_backoff_until_delivered(emu: Emu) -> None:
    pnid = await emu.coex_number()
    emu.receiver.answers = [500, 503, 429]
    await emu.customer_writes(pnid)
    await emu.control.advance("+10m")
    (delivery,) = await emu.control.webhooks(field="messages")
    assert delivery["state"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 429, 200]
    gaps = [b["at"] - a["at"] for a, b in zip(delivery["attempts"], delivery["attempts"][1:], strict=False)]
    assert gaps == [10.0, 20.0, 40.0]
    assert len({r.body for r in emu.receiver.received}) == 1


async def test_retries_stop_after_seven_virtual_days(emu: Emu) -> None:
    pnid = await emu.coex_number()
    emu.receiver.answers = [500] * 1000
    await emu.customer_writes(pnid)
    await emu.control.advance("+6d")
    assert (await emu.control.webhooks(field="messages"))[0]["state"] == "retrying"
    await emu.control.advance("+2d")
    (delivery,) = await emu.control.webhooks(field="messages")
    assert delivery["state"] == "failed"
    span = delivery["attempts"][-1]["at"] - delivery["attempts"][0]["at"]
    assert 6 * 86400 < span <= 7 * 86400
    assert (
        max(b["at"] - a["at"] for a, b in zip(delivery["attempts"], delivery["attempts"][1:], strict=False))
        == 6 * 3600
    )


async def test_delivery_log_filters_and_bodies(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    await emu.text(pnid)
    await emu.control.flush()
    log = await emu.control.webhooks(phone_number_id=pnid)
    assert len(log) == 2
    assert log[1]["body"]["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] == "sent"
    assert (await emu.control.webhooks(since_id=log[0]["id"], body=False))[0].get("body") is None


async def test_360dialog_history_goes_to_the_partner_url_in_the_id_event_data_envelope(emu: Emu) -> None:
    pnid = await emu.coex_number(provider="360dialog", d360_api_key="key-1")
    number = emu.world.numbers[pnid]
    number.webhook_url, number.webhook_headers = "http://receiver/channel", {"X-Secret": "s"}
    emu.runtime.emit(
        pnid,
        "history",
        {"messaging_product": "whatsapp", "metadata": emu.world.metadata(number), "history": []},
    )
    emu.runtime.emit(
        pnid,
        "smb_app_state_sync",
        {"messaging_product": "whatsapp", "metadata": emu.world.metadata(number), "state_sync": []},
    )
    await emu.customer_writes(pnid)
    paths = [r.path for r in emu.receiver.received]
    assert paths == ["/partner", "/partner", "/channel", "/channel"]
    partner = emu.receiver.received[0]
    assert set(partner.json) == {"id", "event", "data"}
    assert partner.json["event"] == "history"
    assert partner.json["data"]["id"] == number.waba_id
    assert (
        partner.headers["x-360dialog-signature"]
        == hmac.new(b"partner-secret", partner.body, hashlib.sha256).hexdigest()
    )
    channel = emu.receiver.received[3]
    assert channel.json["object"] == "whatsapp_business_account"
    assert channel.headers["x-secret"] == "s"
    assert "x-hub-signature-256" not in channel.headers


async def test_statuses_route_to_the_same_url_as_messages(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    await emu.text(pnid)
    await emu.control.advance("+2s")
    assert {r.path for r in emu.receiver.received} == {"/meta"}
    assert [s["recipient_id"] for s in emu.receiver.statuses()] == [CUSTOMER, CUSTOMER]
