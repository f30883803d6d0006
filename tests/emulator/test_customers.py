"""Customers over HTTP: every inbound type as documented, the window only after onboarding, CTWA free
entry point, read/played/failed statuses, edits (15 min), revokes (2 days), reactions, 131060/131051."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator import test_phone
from tests.emulator.test_phone import BASIC, BUSINESS, PABLO, PNID, SHEENA, START, Emulator

pytestmark = pytest.mark.anyio
anyio_backend, emu, onboarded = test_phone.anyio_backend, test_phone.emu, test_phone.onboarded

INBOUND: list[tuple[str, dict[str, Any]]] = [
    ("text", {"text": {"body": "Does it come in another color?"}}),
    ("image", {"image": {"caption": "Taj Mahal"}}),
    ("audio", {"audio": {"voice": True}}),
    ("video", {"video": {"caption": "clip"}}),
    ("document", {"document": {"filename": "invoice.pdf", "caption": "invoice"}}),
    ("sticker", {"sticker": {"animated": False}}),
    ("location", {"location": {"latitude": 37.44, "longitude": -122.16, "name": "Philz Coffee"}}),
    (
        "contacts",
        {"contacts": [{"name": {"formatted_name": "Lucía Gómez"}, "phones": [{"phone": "+19835552319"}]}]},
    ),
    ("interactive", {"interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}}),
    (
        "interactive",
        {
            "interactive": {
                "type": "list_reply",
                "list_reply": {"id": "p1", "title": "Express", "description": "1d"},
            }
        },
    ),
    (
        "interactive",
        {
            "interactive": {
                "type": "nfm_reply",
                "nfm_reply": {"response_json": "{}", "body": "Sent", "name": "flow"},
            }
        },
    ),
    ("button", {"button": {"payload": "Unsubscribe", "text": "Unsubscribe"}}),
    (
        "order",
        {
            "order": {
                "catalog_id": "1",
                "text": "",
                "product_items": [{"product_retailer_id": "x", "quantity": 1}],
            }
        },
    ),
]


def _message(emu: Emulator) -> tuple[dict[str, Any], dict[str, Any]]:
    [value] = emu.values("messages")
    [message] = value["messages"]
    return value, message


@pytest.mark.parametrize(("kind", "body"), INBOUND)
async def test_every_inbound_type_is_delivered_as_documented(
    onboarded: Emulator, kind: str, body: dict[str, Any]
) -> None:
    sent = await onboarded.ok(f"/_emulator/customers/{PABLO}/send", {"to": PNID, "type": kind, **body})
    value, message = _message(onboarded)
    assert value["metadata"] == {"display_phone_number": BUSINESS, "phone_number_id": PNID}
    assert value["contacts"] == [
        {"profile": {"name": "Pablo Morales"}, "wa_id": PABLO, "user_id": "US.13491208655302741"}
    ]
    assert message["from"] == PABLO
    assert message["id"] == sent["wamid"]
    assert message["timestamp"] == str(int(START))
    assert message["type"] == kind
    if kind in ("image", "audio", "video", "document", "sticker"):
        assert {"mime_type", "sha256", "id"} <= set(message[kind])
        assert onboarded.world.media[message[kind]["id"]]
    else:
        assert message[kind] == body[kind]


async def test_customers_without_bsuid_have_no_user_id(onboarded: Emulator) -> None:
    await onboarded.ok(f"/_emulator/customers/{SHEENA}/send", {"to": PNID, "text": "hi"})
    value, _ = _message(onboarded)
    assert value["contacts"] == [{"profile": {"name": "Sheena Nelson"}, "wa_id": SHEENA}]


async def test_a_reply_carries_context(onboarded: Emulator) -> None:
    sent = await onboarded.ok(f"/_emulator/numbers/{PNID}/app/send", {"to": PABLO, "text": "Yes or no?"})
    await onboarded.ok(
        f"/_emulator/customers/{PABLO}/send", {"to": PNID, "text": "Yes", "reply_to": sent["wamid"]}
    )
    _, message = _message(onboarded)
    assert message["context"] == {"from": BUSINESS, "id": sent["wamid"]}


async def test_system_messages_have_no_contacts(onboarded: Emulator) -> None:
    system = {"body": "User changed number", "wa_id": "12195555358", "type": "user_changed_number"}
    await onboarded.ok(f"/_emulator/customers/{PABLO}/send", {"to": PNID, "type": "system", "system": system})
    value, message = _message(onboarded)
    assert "contacts" not in value
    assert message["system"] == system


async def test_messages_before_onboarding_reach_no_webhook_and_open_no_window(emu: Emulator) -> None:
    await emu.scenario(BASIC)
    emu.clear()
    await emu.ok(f"/_emulator/customers/{SHEENA}/send", {"to": PNID, "text": "Before"})
    assert emu.received == []
    await emu.onboard()
    refused = await emu.graph(
        f"{PNID}/messages",
        {"messaging_product": "whatsapp", "to": SHEENA, "type": "text", "text": {"body": "x"}},
    )
    assert refused.json()["error"]["code"] == 131047
    await emu.ok(f"/_emulator/customers/{SHEENA}/send", {"to": PNID, "text": "After"})
    accepted = await emu.graph(
        f"{PNID}/messages",
        {"messaging_product": "whatsapp", "to": SHEENA, "type": "text", "text": {"body": "x"}},
    )
    assert accepted.status_code == 200, accepted.text


async def test_ctwa_referral_is_delivered_and_leads_to_the_free_entry_point(onboarded: Emulator) -> None:
    await onboarded.ok(
        f"/_emulator/customers/{SHEENA}/send",
        {
            "to": PNID,
            "text": "Hello! Can I get more info on this?",
            "referral": {"source_type": "ad", "headline": "Chat with us", "welcome_message": {"text": "Hi!"}},
        },
    )
    _, message = _message(onboarded)
    referral = message["referral"]
    assert referral["source_type"] == "ad"
    assert referral["headline"] == "Chat with us"
    assert referral["welcome_message"] == {"text": "Hi!"}
    assert {"source_url", "source_id", "body", "media_type", "ctwa_clid"} <= set(referral)
    reply = await onboarded.graph(
        f"{PNID}/messages",
        {"messaging_product": "whatsapp", "to": SHEENA, "type": "text", "text": {"body": "Sure"}},
    )
    assert reply.status_code == 200, reply.text
    fep_until = onboarded.world.chat(PNID, SHEENA).fep_until
    assert fep_until is not None
    assert fep_until >= START + 72 * 3600 - 1


async def test_read_may_skip_delivered_and_play_marks_voice_notes_played(onboarded: Emulator) -> None:
    await onboarded.ok(f"/_emulator/customers/{PABLO}/send", {"to": PNID, "text": "send me a voice note"})
    text = await onboarded.graph(
        f"{PNID}/messages",
        {"messaging_product": "whatsapp", "to": PABLO, "type": "text", "text": {"body": "ok"}},
    )
    wamid = text.json()["messages"][0]["id"]
    onboarded.clear()
    result = await onboarded.ok(f"/_emulator/customers/{PABLO}/read", {"wamid": wamid})
    assert result["read"] == [wamid]
    statuses = [s for v in onboarded.values("messages") for s in v["statuses"]]
    assert [s["status"] for s in statuses] == ["read"]
    assert statuses[0]["recipient_id"] == PABLO
    assert statuses[0]["timestamp"] == str(int(START))
    media = onboarded.world.media
    audio_id = next(iter(media)) if media else None
    audio = await onboarded.graph(
        f"{PNID}/messages",
        {
            "messaging_product": "whatsapp",
            "to": PABLO,
            "type": "audio",
            "audio": {"link": "https://example.com/a.ogg"} if audio_id is None else {"id": audio_id},
        },
    )
    assert audio.status_code == 200, audio.text
    audio_wamid = audio.json()["messages"][0]["id"]
    onboarded.clear()
    await onboarded.ok(f"/_emulator/customers/{PABLO}/play", {"wamid": audio_wamid})
    played = [s["status"] for v in onboarded.values("messages") for s in v["statuses"]]
    assert played[-1] == "played"
    refused = await onboarded.post(f"/_emulator/customers/{PABLO}/play", {"wamid": wamid})
    assert refused.status_code == 409


async def test_failed_status_carries_the_error(onboarded: Emulator) -> None:
    await onboarded.ok(f"/_emulator/customers/{PABLO}/send", {"to": PNID, "text": "hi"})
    sent = await onboarded.graph(
        f"{PNID}/messages",
        {"messaging_product": "whatsapp", "to": PABLO, "type": "text", "text": {"body": "x"}},
    )
    wamid = sent.json()["messages"][0]["id"]
    onboarded.clear()
    await onboarded.ok(f"/_emulator/customers/{PABLO}/fail", {"wamid": wamid, "code": 131049})
    [status] = [s for v in onboarded.values("messages") for s in v["statuses"] if s["status"] == "failed"]
    [error] = status["errors"]
    assert error["code"] == 131049
    assert error["message"] == error["title"]
    assert "details" in error["error_data"]


async def test_customer_edits_within_15_minutes_only(onboarded: Emulator) -> None:
    sent = await onboarded.ok(f"/_emulator/customers/{PABLO}/send", {"to": PNID, "text": "Helo"})
    onboarded.clear()
    edit = await onboarded.ok(f"/_emulator/customers/{PABLO}/edit", {"wamid": sent["wamid"], "text": "Hello"})
    _, message = _message(onboarded)
    assert message["id"] == edit["wamid"]
    assert message["type"] == "edit"
    assert message["edit"] == {
        "original_message_id": sent["wamid"],
        "message": {"type": "text", "text": {"body": "Hello"}},
    }
    await onboarded.advance("+16m")
    late = await onboarded.post(
        f"/_emulator/customers/{PABLO}/edit", {"wamid": sent["wamid"], "text": "late"}
    )
    assert late.status_code == 409


async def test_customer_revokes_within_two_days_only(onboarded: Emulator) -> None:
    first = await onboarded.ok(f"/_emulator/customers/{PABLO}/send", {"to": PNID, "text": "oops"})
    second = await onboarded.ok(f"/_emulator/customers/{PABLO}/send", {"to": PNID, "text": "keep"})
    onboarded.clear()
    revoke = await onboarded.ok(f"/_emulator/customers/{PABLO}/revoke", {"wamid": first["wamid"]})
    _, message = _message(onboarded)
    assert message == {
        "from": PABLO,
        "id": revoke["wamid"],
        "timestamp": str(int(START)),
        "type": "revoke",
        "revoke": {"original_message_id": first["wamid"]},
    }
    await onboarded.advance("+2d 1m")
    late = await onboarded.post(f"/_emulator/customers/{PABLO}/revoke", {"wamid": second["wamid"]})
    assert late.status_code == 409


async def test_reactions(onboarded: Emulator) -> None:
    sent = await onboarded.ok(f"/_emulator/numbers/{PNID}/app/send", {"to": PABLO, "text": "Your cake"})
    await onboarded.ok(f"/_emulator/customers/{PABLO}/react", {"wamid": sent["wamid"], "emoji": "👍"})
    _, message = _message(onboarded)
    assert message["type"] == "reaction"
    assert message["reaction"] == {"message_id": sent["wamid"], "emoji": "👍"}


async def test_unsupported_companion_customers_arrive_as_131060(emu: Emulator) -> None:
    data = {**BASIC, "customers": [*BASIC["customers"], {"wa_id": "447700900123", "name": "Win User"}]}
    data["customers"][-1]["unsupported_companion"] = True
    await emu.scenario(data)
    await emu.onboard()
    emu.clear()
    sent = await emu.ok("/_emulator/customers/447700900123/send", {"to": PNID, "text": "from Windows"})
    _, message = _message(emu)
    assert message == {
        "from": "447700900123",
        "id": sent["wamid"],
        "timestamp": str(int(START)),
        "type": "unsupported",
        "errors": [
            {
                "code": 131060,
                "title": "Message unavailable",
                "message": "Message unavailable",
                "error_data": message["errors"][0]["error_data"],
            }
        ],
    }
    chat = (await emu.client.get(f"/_emulator/numbers/{PNID}/app/chats/447700900123")).json()["messages"]
    assert chat[-1]["text"] == "from Windows"


async def test_first_contact_can_arrive_as_131060(emu: Emulator) -> None:
    numbers = [{**BASIC["numbers"][0], "first_contact_unsupported": True}]
    await emu.scenario({**BASIC, "numbers": numbers})
    await emu.onboard()
    emu.clear()
    await emu.ok(f"/_emulator/customers/{SHEENA}/send", {"to": PNID, "text": "first"})
    await emu.ok(f"/_emulator/customers/{SHEENA}/send", {"to": PNID, "text": "second"})
    first, second = [v["messages"][0] for v in emu.values("messages")]
    assert first["type"] == "unsupported"
    assert first["errors"][0]["code"] == 131060
    assert second["type"] == "text"


async def test_unknown_message_types_arrive_as_131051(onboarded: Emulator) -> None:
    await onboarded.ok(f"/_emulator/customers/{PABLO}/send", {"to": PNID, "type": "unsupported"})
    _, message = _message(onboarded)
    assert message["errors"][0]["code"] == 131051
    assert message["errors"][0]["error_data"] == {"details": "Message type is currently not supported."}


async def test_unknown_customer_or_number_is_404(onboarded: Emulator) -> None:
    assert (
        await onboarded.post("/_emulator/customers/19990000000/send", {"to": PNID, "text": "x"})
    ).status_code == 404
    assert (
        await onboarded.post(f"/_emulator/customers/{PABLO}/send", {"to": "nope", "text": "x"})
    ).status_code == 404
