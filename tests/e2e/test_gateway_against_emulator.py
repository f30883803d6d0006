"""End to end: the emulator (Meta, the phone, customers) and the gateway as real servers on loopback.

The emulator plays Rosa's Bakery (scenarios/demo.yaml): onboarding, the contact and history syncs a
partner requests, then live traffic from customers, the phone, a Web companion and a Windows desktop.
Its signed webhooks go over HTTP to `wacoex serve`'s app; afterwards the gateway's record must match
what the phone shows, except for what WhatsApp never tells the API (Windows sends, reactions as
messages), and media must be in the gateway's vault.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.emulator.conftest import serve
from wacoex.bootstrap import build, token_cipher
from wacoex.config import Settings
from wacoex.emulator.app import create_app as create_emulator
from wacoex.emulator.client import EmulatorClient
from wacoex.emulator.control.scenarios import SCENARIO_DIR
from wacoex.emulator.world import World, WorldConfig
from wacoex.store.numbers import add_number
from wacoex.web.app import create_app as create_gateway

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SECRET = "e2e-app-secret"
ADMIN = "e2e-admin-key"
PNID = "106540352242922"
TOKEN = "rosa-bakery-token"


async def _settled(gw: httpx.AsyncClient, within: float = 60) -> None:
    """Until every stored receipt is applied (done or held) and stays so for a moment."""
    deadline = time.monotonic() + within
    quiet = 0
    while time.monotonic() < deadline:
        pending = (await gw.get("/api/v1/receipts", params={"state": "pending", "limit": 1})).json()["items"]
        quiet = quiet + 1 if not pending else 0
        if quiet >= 3:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the gateway did not apply its receipts in time")


async def _gateway_messages(gw: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    convs = (await gw.get(f"/api/v1/numbers/{PNID}/conversations", params={"limit": 500})).json()["items"]
    out: dict[str, dict[str, Any]] = {}
    for conv in convs:
        page = (await gw.get(f"/api/v1/conversations/{conv['id']}/messages", params={"limit": 500})).json()
        for m in page["items"]:
            out[m["wamid"]] = {**m, "wa_id": conv["contact"]["wa_id"], "contact": conv["contact"]}
    return out


async def test_the_gateway_record_matches_the_phone(db_url: str, tmp_path: Path) -> None:
    world = World(WorldConfig(app_secret=SECRET, access_tokens=[TOKEN]))
    emulator_app = create_emulator(world)
    with serve(emulator_app) as emu_url:
        world.config.media_base_url = emu_url
        settings = Settings(
            database_url=db_url,
            app_secrets=[SECRET],
            admin_api_key=ADMIN,
            verify_token="vt",
            media_dir=tmp_path / "media",
            graph_base_url=f"{emu_url}/v23.0",
            dev=True,
            worker_poll_seconds=0.02,
        )
        container = build(settings, migrate=False)
        with container.engine.begin() as conn:
            add_number(
                conn,
                phone_number_id=PNID,
                display_phone_number="15550783881",
                waba_id="102290129340398",
                provider="meta",
                coexistence=True,
                access_token=TOKEN,
                cipher=token_cipher(settings),
            )
        with serve(create_gateway(container=container)) as gw_url:
            world.config.webhook_url = f"{gw_url}/webhooks/whatsapp"
            async with (
                httpx.AsyncClient(base_url=emu_url, timeout=30) as emu_http,
                httpx.AsyncClient(
                    base_url=gw_url, timeout=30, headers={"Authorization": f"Bearer {ADMIN}"}
                ) as gw,
            ):
                emu = EmulatorClient(emu_http)
                await emu.load_scenario((SCENARIO_DIR / "demo.yaml").read_text())
                await emu.advance("+2m")  # onboarding happens at 1m
                # What the partner does right after onboarding: contacts first, then history.
                for sync_type in ("smb_app_state_sync", "history"):
                    r = await emu_http.post(
                        f"/v23.0/{PNID}/smb_app_data",
                        json={"messaging_product": "whatsapp", "sync_type": sync_type},
                        headers={"Authorization": f"Bearer {TOKEN}"},
                    )
                    assert r.status_code == 200, r.text
                await emu.advance("+40m")  # the live timeline
                await emu.flush()
                await _settled(gw)

                record = await _gateway_messages(gw)
                chats = await emu.app_chats(PNID)
                number = world.numbers[PNID]
                onboarded = number.onboarded_at or 0
                expected: dict[str, dict[str, Any]] = {}
                never_sent_to_the_api: list[str] = []
                for chat in chats:
                    if not chat["wa_id"].isdigit():
                        continue  # group chats: neither synced nor on the API (spec §6.1)
                    for m in await emu.app_chat(PNID, chat["wa_id"]):
                        if m["type"] == "reaction":
                            continue  # kept on the message it reacts to
                        if m["device"] in ("windows", "wearos") and m["direction"] == "outbound":
                            never_sent_to_the_api.append(m["wamid"])
                            continue
                        if m["timestamp"] < onboarded - 180 * 86400:
                            continue
                        expected[m["wamid"]] = {**m, "wa_id": chat["wa_id"]}

                assert never_sent_to_the_api, "the scenario sends from Windows"
                assert not set(never_sent_to_the_api) & set(record)
                missing = sorted(set(expected) - set(record))
                extra = sorted(set(record) - set(expected))
                assert not missing, f"on the phone but not in the gateway: {missing[:5]}"
                assert not extra, f"in the gateway but not on the phone: {extra[:5]}"
                for wamid, m in expected.items():
                    got = record[wamid]
                    assert got["direction"] == m["direction"], wamid
                    assert got["wa_id"] == m["wa_id"], wamid
                    assert got["edited"] == m["edited"], wamid
                    assert got["revoked"] == m["revoked"], wamid
                    if m["timestamp"] < onboarded:
                        assert got["origin"] == "history", wamid
                    else:
                        assert got["origin"] == {"inbound": "customer"}.get(m["direction"], "business_app"), (
                            wamid
                        )
                    if m["type"] == "text" and not m["revoked"] and got["type"] == "text":
                        assert got["text"] == m["content"]["body"], wamid

                # Names come from the owner's address book, with the removal applied.
                book = {c["phone_number"]: c for c in await emu.app_contacts(PNID)}
                convs = (await gw.get(f"/api/v1/numbers/{PNID}/conversations", params={"limit": 500})).json()
                for conv in convs["items"]:
                    wa_id = conv["contact"]["wa_id"]
                    entry = book.get(wa_id)
                    assert conv["contact"]["names"]["address_book"]["full_name"] == (
                        entry["full_name"] if entry else None
                    ), wa_id

                sync = (await gw.get(f"/api/v1/numbers/{PNID}/history-sync")).json()
                assert sync["state"] == "complete"
                assert sync["messages_imported"] == sum(
                    1 for w, m in expected.items() if m["timestamp"] < onboarded
                )

                # The reaction to the owner's edited answer is on that answer.
                reacted = [m for m in record.values() if m["reactions"]]
                assert reacted
                assert next(iter(reacted[0]["reactions"].values())) == "🙏"

                # The customer on WhatsApp for Windows arrives as 131060 with an explanation.
                unsupported = [m for m in record.values() if m["type"] == "unsupported"]
                assert unsupported
                assert "131060" in unsupported[0]["note"]

                # Media was downloaded into the vault and is served by the API.
                deadline = time.monotonic() + 20
                while True:
                    media = [
                        m for m in (await _gateway_messages(gw)).values() if m["media"] and m["media"]["id"]
                    ]
                    if (
                        all(m["media"]["state"] in ("stored", "failed") for m in media)
                        or time.monotonic() > deadline
                    ):
                        break
                    await asyncio.sleep(0.2)
                stored = [m for m in media if m["media"]["state"] == "stored"]
                assert stored, media[:3]
                blob = await gw.get(stored[0]["media"]["url"])
                assert blob.status_code == 200
                assert blob.content
        container.dispose()
