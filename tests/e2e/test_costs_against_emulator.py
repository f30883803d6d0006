"""End to end: the gateway's cost ledger equals the emulator's billing ledger.

The emulator (Meta's Cloud API and its billing) and the gateway run as real servers on loopback. A
partner sends templates and service messages straight to the emulator's Cloud API, to customers in
several markets, inside and outside their windows and in a free entry point window; the owner also
answers from the phone. The emulator charges what it delivered and reports each message's `pricing`
in its status webhooks to the gateway; the gateway's costs API, pricing those with its own rate
card, must come to the same totals, category by category.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.emulator.conftest import serve
from wacoex.bootstrap import build
from wacoex.config import Settings
from wacoex.emulator.app import create_app as create_emulator
from wacoex.emulator.client import EmulatorClient
from wacoex.emulator.world import World, WorldConfig
from wacoex.store.numbers import add_number
from wacoex.web.app import create_app as create_gateway

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SECRET = "e2e-app-secret"
ADMIN = "e2e-admin-key"
TOKEN = "partner-token"
BUSINESS = "15550783881"
CUSTOMERS = {
    "16505551234": "North America",
    "5511987654321": "Brazil",
    "919876543210": "India",
    "447700900123": "United Kingdom",
    "4915112345678": "Germany",
    "213551234567": "Rest of Africa",
    "61412345678": "Rest of Asia Pacific",
}
BRAZIL, INDIA, UK, GERMANY, US = (
    "5511987654321",
    "919876543210",
    "447700900123",
    "4915112345678",
    "16505551234",
)
SIX = Decimal("0.000001")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _settled(gw: httpx.AsyncClient, within: float = 60) -> None:
    deadline = time.monotonic() + within
    quiet = 0
    while time.monotonic() < deadline:
        pending = (await gw.get("/api/v1/receipts", params={"state": "pending", "limit": 1})).json()["items"]
        quiet = quiet + 1 if not pending else 0
        if quiet >= 3:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the gateway did not apply its receipts in time")


def _template(name: str, to: str) -> dict[str, Any]:
    return {"to": to, "type": "template", "template": {"name": name, "language": {"code": "en_US"}}}


def _text(to: str, body: str) -> dict[str, Any]:
    return {"to": to, "type": "text", "text": {"body": body}}


async def test_the_cost_ledger_equals_the_emulators_billing_ledger(db_url: str, tmp_path: Path) -> None:
    world = World(WorldConfig(app_secret=SECRET, access_tokens=[TOKEN]))
    with serve(create_emulator(world)) as emu_url:
        async with httpx.AsyncClient(base_url=emu_url, timeout=30) as emu_http:
            emu = EmulatorClient(emu_http)
            number = await emu.create_number(display_phone_number=BUSINESS, onboarded=True)
            pnid = str(number["phone_number_id"])
            settings = Settings(
                database_url=db_url,
                app_secrets=[SECRET],
                admin_api_key=ADMIN,
                verify_token="vt",
                media_dir=tmp_path / "media",
                fetch_media=False,
                dev=True,
                worker_poll_seconds=0.02,
            )
            container = build(settings, migrate=False)
            with container.engine.begin() as conn:
                add_number(
                    conn,
                    phone_number_id=pnid,
                    display_phone_number=BUSINESS,
                    waba_id=str(number["waba_id"]),
                    provider="meta",
                    coexistence=True,
                    access_token=TOKEN,
                )
            with serve(create_gateway(container=container)) as gw_url:
                await emu.patch_config(webhook_url=f"{gw_url}/webhooks/whatsapp")
                async with httpx.AsyncClient(
                    base_url=gw_url, timeout=30, headers={"Authorization": f"Bearer {ADMIN}"}
                ) as gw:
                    await _play(world, emu, emu_http, pnid)
                    await _settled(gw)
                    costs = (await gw.get(f"/api/v1/numbers/{pnid}/costs")).json()
                    ledger = await emu.ledger(pnid)
            container.dispose()

    entries = ledger["entries"]
    assert {e["market"] for e in entries} >= set(CUSTOMERS.values())
    assert all(e["delivered_at"] is not None for e in entries), "every message was delivered"

    # The totals are equal, to the emulator's six decimals.
    assert Decimal(costs["total"]["amount"]).quantize(SIX) == Decimal(str(ledger["totals"]["USD"])).quantize(
        SIX
    )
    assert costs["currency"] == "USD"
    assert costs["total"]["messages"] == len(entries)
    assert costs["total"]["charged"] == sum(1 for e in entries if e["billable"])
    assert costs["total"]["free"] == sum(1 for e in entries if not e["billable"])
    assert costs["total"]["unpriced"] == 0
    assert costs["awaiting_pricing"] == 0

    # And so is every category: count, free and billable, amount.
    expected: dict[str, dict[str, Any]] = {}
    for e in entries:
        category = e["category"].replace("-", "_")
        row = expected.setdefault(category, {"messages": 0, "free": 0, "billable": 0, "amount": Decimal(0)})
        row["messages"] += 1
        row["billable" if e["billable"] else "free"] += 1
        row["amount"] += Decimal(str(e["charged"]))
    got = {
        c["category"]: {
            "messages": c["messages"],
            "free": c["free"],
            "billable": c["billable"],
            "amount": Decimal(c["amount"]),
        }
        for c in costs["categories"]
    }
    assert {k: {**v, "amount": v["amount"].quantize(SIX)} for k, v in got.items()} == {
        k: {**v, "amount": v["amount"].quantize(SIX)} for k, v in expected.items()
    }
    # Every rule was exercised: charged templates, free service, utility in the window, the entry point.
    assert {"marketing", "utility", "authentication_international", "authentication"} <= set(got)
    assert {"service", "referral_conversion"} <= set(got)
    assert got["utility"]["free"] == 1
    assert got["utility"]["billable"] == 1
    # The owner's answer from the phone is free and not in Meta's ledger.
    assert costs["app_messages"] == 1


async def _play(world: World, emu: EmulatorClient, emu_http: httpx.AsyncClient, pnid: str) -> None:
    """A day of sending: what is free and what is charged, in every market of CUSTOMERS."""

    async def send(body: dict[str, Any]) -> None:
        r = await emu_http.post(
            f"/v23.0/{pnid}/messages",
            json={"messaging_product": "whatsapp", **body},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert r.status_code == 200, r.text

    for wa_id in CUSTOMERS:
        await emu.create_customer(wa_id, f"Customer {wa_id[-4:]}")
    for name, category in (("promo", "MARKETING"), ("receipt", "UTILITY"), ("code", "AUTHENTICATION")):
        await emu.create_template(name, "en_US", category, phone_number_id=pnid)
    # The business is eligible for authentication-international rates (no control route sets it).
    world.business_of(world.numbers[pnid]).auth_international_eligible = True

    # Marketing to everyone (charged in each market), authentication to Germany and India.
    for wa_id in CUSTOMERS:
        await send(_template("promo", wa_id))
    await send(_template("code", GERMANY))
    await send(_template("code", INDIA))
    # A utility template outside the window is charged...
    await send(_template("receipt", INDIA))
    # ... inside it free, like every service message.
    await emu.customer_send(BRAZIL, to=pnid, type="text", content={"body": "Is my order on its way?"})
    await emu.advance("+1s")
    await send(_text(BRAZIL, "Yes, it left this morning."))
    await send(_template("receipt", BRAZIL))
    # A click-to-WhatsApp customer: once answered, everything is free for 72 hours, templates too.
    await emu.customer_send(
        UK, to=pnid, type="text", content={"body": "Saw your ad!"}, referral={"source_type": "ad"}
    )
    await emu.advance("+1s")
    await send(_text(UK, "Welcome! Here is the menu."))
    await send(_template("promo", UK))
    # The owner answers from the phone: free, outside Cloud API billing.
    await emu.app_send(pnid, to=US, type="text", content={"body": "Thanks, see you tomorrow"})
    await emu.advance("+10s")  # every message delivered
    await emu.flush()
