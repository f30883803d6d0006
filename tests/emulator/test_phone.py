"""The Business app over HTTP: echoes from the phone and supported companions only, no window, no
billing, placeholders on Windows/WearOS, companions, the address book after the contact sync, and
every way coexistence ends (disconnect, inactivity, change number, re-register, downgrade).

The `Emulator` harness defined here drives the emulator in-process (httpx.ASGITransport) and
captures every webhook the dispatcher delivers in a receiver app; the other people-side test
modules import it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from wacoex.emulator.app import create_app
from wacoex.emulator.clock import Clock
from wacoex.emulator.runtime import Runtime
from wacoex.emulator.world import World, WorldConfig

START = 1_780_000_000.0
PNID = "106540352242922"
BUSINESS = "15550783881"
PABLO = "16505551234"
SHEENA = "12125557890"
RECEIVER = "http://receiver.test/webhook"
APP_SECRET = "emulator-app-secret"
BASIC = {
    "customers": [
        {"wa_id": PABLO, "name": "Pablo Morales", "user_id": "US.13491208655302741"},
        {"wa_id": SHEENA, "name": "Sheena Nelson"},
    ],
    "numbers": [
        {
            "phone_number_id": PNID,
            "display_phone_number": BUSINESS,
            "waba_id": "102290129340398",
            "business_id": "2329417887457253",
            "verified_name": "Test Shop",
            "access_token": "shop-token",
            "devices": ["web", "windows"],
            "address_book": [{"phone_number": PABLO, "full_name": "Pablo Morales"}],
            "history": {
                "chats": [
                    {
                        "wa_id": PABLO,
                        "messages": [
                            {"ago": "12h", "from": "business", "text": "Here's the info you requested!"},
                            {"ago": "11h", "from": "customer", "text": "Thanks!"},
                        ],
                    }
                ]
            },
        }
    ],
}


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


@dataclass
class Emulator:
    """The emulator app, a client to drive it, and every webhook it delivered."""

    runtime: Runtime
    client: httpx.AsyncClient
    received: list[Received] = field(default_factory=list)

    @property
    def world(self) -> World:
        return self.runtime.world

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.client.post(path, json=body if body is not None else {}, **kwargs)

    async def ok(self, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.post(path, body)
        assert response.status_code < 300, response.text
        result: dict[str, Any] = response.json()
        return result

    async def scenario(self, data: dict[str, Any]) -> dict[str, Any]:
        return await self.ok("/_emulator/scenarios", data)

    async def onboard(self, share_history: bool = True) -> dict[str, Any]:
        return await self.ok(f"/_emulator/numbers/{PNID}/onboard", {"share_history": share_history})

    async def advance(self, by: str) -> None:
        await self.ok("/_emulator/clock/advance", {"by": by})

    async def graph(self, path: str, body: dict[str, Any], token: str = "shop-token") -> httpx.Response:
        """A Graph API call, then every webhook it caused is delivered."""
        response = await self.client.post(
            f"/v23.0/{path}", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        await self.ok("/_emulator/flush")
        return response

    def values(self, field_name: str | None = None) -> list[dict[str, Any]]:
        """Every `changes[].value` delivered so far (optionally of one field), in delivery order."""
        found = []
        for item in self.received:
            for entry in item.json["entry"]:
                for change in entry["changes"]:
                    if field_name is None or change["field"] == field_name:
                        found.append(change["value"])
        return found

    def entries(self, field_name: str) -> list[dict[str, Any]]:
        return [
            entry
            for item in self.received
            for entry in item.json["entry"]
            if any(c["field"] == field_name for c in entry["changes"])
        ]

    def clear(self) -> None:
        self.received.clear()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    received: list[Received] = []

    async def receiver(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        received.append(Received(headers, body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    world = World(WorldConfig(webhook_url=RECEIVER, app_secret=APP_SECRET), clock=Clock(START, frozen=True))
    hook_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver))
    app = create_app(world, webhook_client=hook_client, background=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://emulator.test"
    ) as c:
        yield Emulator(app.state.runtime, c, received)
    await hook_client.aclose()


@pytest.fixture
async def onboarded(emu: Emulator) -> Emulator:
    await emu.scenario(BASIC)
    await emu.onboard()
    emu.clear()
    return emu


# ---- echoes ---------------------------------------------------------------------------------------

pytestmark = pytest.mark.anyio


async def test_owner_text_from_phone_is_an_echo_shaped_as_documented(onboarded: Emulator) -> None:
    sent = await onboarded.ok(f"/_emulator/numbers/{PNID}/app/send", {"to": PABLO, "text": "Here you go"})
    [delivery] = onboarded.received
    assert delivery.headers["x-hub-signature-256"].startswith("sha256=")
    body = delivery.json
    assert body["object"] == "whatsapp_business_account"
    [entry] = body["entry"]
    assert entry["id"] == "102290129340398"
    assert "time" not in entry
    [change] = entry["changes"]
    assert change["field"] == "smb_message_echoes"
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == {"display_phone_number": BUSINESS, "phone_number_id": PNID}
    assert value["contacts"] == [
        {"profile": {"name": "Pablo Morales"}, "wa_id": PABLO, "user_id": "US.13491208655302741"}
    ]
    [echo] = value["message_echoes"]
    assert echo == {
        "from": BUSINESS,
        "to": PABLO,
        "id": sent["wamid"],
        "timestamp": str(int(START)),
        "type": "text",
        "text": {"body": "Here you go"},
    }


async def test_echoes_never_open_the_window_and_are_not_billed(onboarded: Emulator) -> None:
    await onboarded.ok(f"/_emulator/numbers/{PNID}/app/send", {"to": SHEENA, "text": "Hello from the phone"})
    assert onboarded.world.chat(PNID, SHEENA).last_customer_message_at is None
    assert onboarded.runtime.ledger.entries == {}
    assert onboarded.values("messages") == []
    refused = await onboarded.graph(
        f"{PNID}/messages",
        {"messaging_product": "whatsapp", "to": SHEENA, "type": "text", "text": {"body": "hi"}},
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == 131047


async def test_media_reply_edit_and_revoke_echoes(onboarded: Emulator) -> None:
    inbound = await onboarded.ok(f"/_emulator/customers/{PABLO}/send", {"to": PNID, "text": "Photo please?"})
    image = await onboarded.ok(
        f"/_emulator/numbers/{PNID}/app/send",
        {"to": PABLO, "type": "image", "image": {"caption": "Our cake"}, "reply_to": inbound["wamid"]},
    )
    edit = await onboarded.ok(
        f"/_emulator/numbers/{PNID}/app/edit", {"wamid": image["wamid"], "caption": "New"}
    )
    revoke = await onboarded.ok(f"/_emulator/numbers/{PNID}/app/revoke", {"wamid": image["wamid"]})
    media_echo, edit_echo, revoke_echo = [
        v["message_echoes"][0] for v in onboarded.values("smb_message_echoes")
    ]
    assert media_echo["context"] == {"from": PABLO, "id": inbound["wamid"]}
    assert media_echo["type"] == "image"
    assert set(media_echo["image"]) >= {"caption", "mime_type", "sha256", "id"}
    media = await onboarded.client.get(
        f"/v23.0/{media_echo['image']['id']}", headers={"Authorization": "Bearer shop-token"}
    )
    assert media.status_code == 200
    assert edit_echo["id"] == edit["wamid"] != image["wamid"]
    assert edit_echo["type"] == "edit"
    assert edit_echo["edit"]["original_message_id"] == image["wamid"]
    nested = edit_echo["edit"]["message"]
    assert nested["type"] == "image"
    assert nested["image"]["caption"] == "New"
    assert nested["context"] == {"id": inbound["wamid"]}
    assert revoke_echo == {
        "from": BUSINESS,
        "to": PABLO,
        "id": revoke["wamid"],
        "timestamp": str(int(START)),
        "type": "revoke",
        "revoke": {"original_message_id": image["wamid"]},
    }


async def test_owner_edits_only_within_15_minutes(onboarded: Emulator) -> None:
    sent = await onboarded.ok(f"/_emulator/numbers/{PNID}/app/send", {"to": PABLO, "text": "typo"})
    await onboarded.advance("+16m")
    late = await onboarded.post(
        f"/_emulator/numbers/{PNID}/app/edit", {"wamid": sent["wamid"], "text": "fixed"}
    )
    assert late.status_code == 409


async def test_app_sends_before_onboarding_emit_nothing(emu: Emulator) -> None:
    await emu.scenario(BASIC)
    emu.clear()
    result = await emu.ok(f"/_emulator/numbers/{PNID}/app/send", {"to": PABLO, "text": "still app-only"})
    assert result["webhooks"] == 0
    assert emu.received == []


# ---- companions -----------------------------------------------------------------------------------


async def test_onboarding_unlinks_all_companions(emu: Emulator) -> None:
    await emu.scenario(BASIC)
    before = await emu.client.get(f"/_emulator/numbers/{PNID}/app/devices")
    assert [d["linked"] for d in before.json()["devices"]] == [True, True, True]
    await emu.onboard()
    after = await emu.client.get(f"/_emulator/numbers/{PNID}/app/devices")
    assert {d["kind"]: d["linked"] for d in after.json()["devices"]} == {
        "primary": True,
        "web": False,
        "windows": False,
    }
    refused = await emu.post(
        f"/_emulator/numbers/{PNID}/app/send", {"to": PABLO, "text": "x", "device": "web"}
    )
    assert refused.status_code == 409


async def test_supported_companion_echoes_but_windows_and_wearos_emit_nothing(onboarded: Emulator) -> None:
    for kind in ("web", "windows", "wearos"):
        await onboarded.ok(f"/_emulator/numbers/{PNID}/app/devices", {"action": "link", "kind": kind})
    web = await onboarded.ok(
        f"/_emulator/numbers/{PNID}/app/send", {"to": PABLO, "text": "web", "device": "web"}
    )
    for kind in ("windows", "wearos"):
        quiet = await onboarded.ok(
            f"/_emulator/numbers/{PNID}/app/send", {"to": PABLO, "text": kind, "device": kind}
        )
        assert quiet["webhooks"] == 0
    echoes = [v["message_echoes"][0] for v in onboarded.values("smb_message_echoes")]
    assert [e["id"] for e in echoes] == [web["wamid"]]


async def test_unsupported_companions_show_business_messages_as_a_placeholder(onboarded: Emulator) -> None:
    await onboarded.ok(f"/_emulator/numbers/{PNID}/app/devices", {"action": "link", "kind": "windows"})
    await onboarded.ok(f"/_emulator/numbers/{PNID}/app/send", {"to": PABLO, "text": "secret plan"})
    on_windows = (
        await onboarded.client.get(f"/_emulator/numbers/{PNID}/app/chats/{PABLO}?device=windows")
    ).json()
    on_phone = (await onboarded.client.get(f"/_emulator/numbers/{PNID}/app/chats/{PABLO}")).json()
    business = [m for m in on_windows["messages"] if m["direction"] == "outbound"]
    assert business
    assert all(m["placeholder"] for m in business)
    assert "secret plan" not in json.dumps(on_windows)
    assert on_phone["messages"][-1]["text"] == "secret plan"
    customer = [m for m in on_windows["messages"] if m["direction"] == "inbound"]
    assert customer[0]["text"] == "Thanks!"


async def test_at_most_four_companions(onboarded: Emulator) -> None:
    for kind in ("web", "mac", "ipad", "android_companion"):
        await onboarded.ok(f"/_emulator/numbers/{PNID}/app/devices", {"action": "link", "kind": kind})
    fifth = await onboarded.post(
        f"/_emulator/numbers/{PNID}/app/devices", {"action": "link", "kind": "windows"}
    )
    assert fifth.status_code == 409


async def test_chats_show_api_sent_messages_too(onboarded: Emulator) -> None:
    await onboarded.ok(f"/_emulator/customers/{PABLO}/send", {"to": PNID, "text": "Hi"})
    sent = await onboarded.graph(
        f"{PNID}/messages",
        {"messaging_product": "whatsapp", "to": PABLO, "type": "text", "text": {"body": "API!"}},
    )
    assert sent.status_code == 200, sent.text
    chat = (await onboarded.client.get(f"/_emulator/numbers/{PNID}/app/chats/{PABLO}")).json()["messages"]
    assert chat[-1]["origin"] == "api"
    assert chat[-1]["text"] == "API!"
    chats = (await onboarded.client.get(f"/_emulator/numbers/{PNID}/app/chats")).json()["chats"]
    assert chats[0]["wa_id"] == PABLO
    assert chats[0]["window_open"] is True


# ---- address book ---------------------------------------------------------------------------------


async def test_contact_changes_emit_state_sync_only_after_the_initial_sync(onboarded: Emulator) -> None:
    quiet = await onboarded.ok(
        f"/_emulator/numbers/{PNID}/app/contacts",
        {"action": "add", "phone_number": SHEENA, "full_name": "Sheena N"},
    )
    assert quiet["webhooks"] == 0
    synced = await onboarded.graph(
        f"{PNID}/smb_app_data", {"messaging_product": "whatsapp", "sync_type": "smb_app_state_sync"}
    )
    assert synced.status_code == 200, synced.text
    [initial] = onboarded.values("smb_app_state_sync")
    assert {c["contact"]["phone_number"] for c in initial["state_sync"]} == {PABLO, SHEENA}
    assert all(c["action"] == "add" for c in initial["state_sync"])
    onboarded.clear()
    await onboarded.advance("+1m")
    await onboarded.ok(
        f"/_emulator/numbers/{PNID}/app/contacts",
        {"action": "edit", "phone_number": SHEENA, "full_name": "Sheena Nelson", "first_name": "Sheena"},
    )
    await onboarded.ok(f"/_emulator/numbers/{PNID}/app/contacts", {"action": "remove", "phone_number": PABLO})
    edit, remove = onboarded.values("smb_app_state_sync")
    assert edit["metadata"] == {"display_phone_number": BUSINESS, "phone_number_id": PNID}
    assert edit["state_sync"] == [
        {
            "type": "contact",
            "contact": {"full_name": "Sheena Nelson", "first_name": "Sheena", "phone_number": SHEENA},
            "action": "add",
            "metadata": {"timestamp": str(int(START + 60))},
        }
    ]
    assert remove["state_sync"] == [
        {
            "type": "contact",
            "contact": {"phone_number": PABLO},
            "action": "remove",
            "metadata": {"timestamp": str(int(START + 60))},
        }
    ]


async def test_contact_sync_is_chunked(onboarded: Emulator) -> None:
    from wacoex.emulator.people import phone

    number = onboarded.world.numbers[PNID]
    for i in range(1203):
        phone.edit_contact(
            onboarded.runtime, PNID, action="add", phone_number=f"4479000{i:05d}", full_name=f"C {i}"
        )
    assert phone.start_contact_sync(onboarded.runtime, number) == 3


# ---- the end of coexistence -----------------------------------------------------------------------


def _removed(emu: Emulator) -> tuple[dict[str, Any], dict[str, Any]]:
    [entry] = emu.entries("account_update")
    return entry, entry["changes"][0]["value"]


async def test_disconnect_from_settings_emits_partner_removed_in_both_documented_shapes(
    onboarded: Emulator,
) -> None:
    result = await onboarded.ok(f"/_emulator/numbers/{PNID}/app/disconnect")
    assert result["state"] == "OFFBOARDED"
    entry, value = _removed(onboarded)
    assert entry["time"] == int(START)
    assert isinstance(entry["time"], int)
    assert value == {
        "phone_number": BUSINESS,
        "event": "PARTNER_REMOVED",
        "waba_info": {"waba_id": "102290129340398", "owner_business_id": "2329417887457253"},
        "disconnection_info": {"reason": "ACCOUNT_DISCONNECTED", "initiated_by": "USER"},
    }
    onboarded.clear()
    quiet = await onboarded.ok(f"/_emulator/numbers/{PNID}/app/send", {"to": PABLO, "text": "after"})
    assert quiet["webhooks"] == 0
    again = await onboarded.post(f"/_emulator/numbers/{PNID}/app/disconnect")
    assert again.status_code == 409


async def test_primary_inactivity_after_14_days_without_opening_the_app(onboarded: Emulator) -> None:
    await onboarded.advance("+13d")
    assert onboarded.values("account_update") == []
    await onboarded.ok(f"/_emulator/numbers/{PNID}/app/open")
    await onboarded.advance("+13d")
    assert onboarded.values("account_update") == []
    await onboarded.advance("+1d")
    _, value = _removed(onboarded)
    assert value["disconnection_info"] == {"reason": "PRIMARY_INACTIVITY", "initiated_by": "SYSTEM"}
    assert onboarded.world.numbers[PNID].state == "OFFBOARDED"


async def test_companion_inactive_30_days_ends_coexistence(onboarded: Emulator) -> None:
    await onboarded.ok(f"/_emulator/numbers/{PNID}/app/devices", {"action": "link", "kind": "web"})
    for _ in range(3):
        await onboarded.advance("+10d")
        await onboarded.ok(f"/_emulator/numbers/{PNID}/app/open")
    await onboarded.advance("+1h")
    _, value = _removed(onboarded)
    assert value["disconnection_info"] == {"reason": "COMPANION_INACTIVITY", "initiated_by": "SYSTEM"}


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ("change-number", "CHANGE_NUMBER"),
        ("downgrade", "BUSINESS_DOWNGRADE"),
        ("re-register", "USER_RE_REGISTERED"),
    ],
)
async def test_owner_actions_that_end_coexistence(onboarded: Emulator, route: str, reason: str) -> None:
    await onboarded.ok(f"/_emulator/numbers/{PNID}/app/{route}")
    values = onboarded.values("account_update")
    assert values[0]["event"] == "PARTNER_REMOVED"
    assert values[0]["disconnection_info"] == {"reason": reason, "initiated_by": "USER"}
    if route == "re-register":
        assert values[1] == {"event": "ACCOUNT_OFFBOARDED"}
    else:
        assert len(values) == 1
    if route == "downgrade":
        assert onboarded.world.numbers[PNID].on_biz_app is False


# ---- a third-party client parses our echoes -------------------------------------------------------


async def test_pywa_parses_an_echo_with_a_valid_signature(onboarded: Emulator) -> None:
    from fastapi import FastAPI
    from pywa_async import WhatsApp, types

    app = FastAPI()
    wa = WhatsApp(
        phone_id=PNID,
        token="shop-token",
        server=app,
        verify_token="vt",
        app_secret=APP_SECRET,
        webhook_endpoint="/pywa",
        api_version="23.0",
        validate_updates=True,
    )
    got: list[types.OutgoingMessage] = []

    @wa.on_outgoing_message()  # type: ignore[misc]
    async def on_echo(_: WhatsApp, msg: types.OutgoingMessage) -> None:
        got.append(msg)

    sent = await onboarded.ok(f"/_emulator/numbers/{PNID}/app/send", {"to": PABLO, "text": "hello pywa"})
    [delivery] = onboarded.received
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pywa") as client:
        response = await client.post(
            "/pywa",
            content=delivery.body,
            headers={
                "X-Hub-Signature-256": delivery.headers["x-hub-signature-256"],
                "Content-Type": "application/json",
            },
        )
        forged = await client.post(
            "/pywa",
            content=delivery.body,
            headers={"X-Hub-Signature-256": "sha256=" + "0" * 64, "Content-Type": "application/json"},
        )
    assert response.status_code == 200
    assert forged.status_code != 200
    [msg] = got
    assert msg.id == sent["wamid"]
    assert msg.text == "hello pywa"
    assert msg.to_user.wa_id == PABLO
