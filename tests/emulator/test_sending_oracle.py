"""The emulator as the oracle for a sending client: lost responses, the exact 20 msg/s limit and the
refusals it answered, every message the world holds, and the billing ledger per message."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.emulator.conftest import (
    AUTH,
    BUSINESS_NUMBER,
    CUSTOMER,
    Emu,
    Receiver,
    error_code,
    serve,
    wait_for,
)
from wacoex.emulator.app import create_app
from wacoex.emulator.client import EmulatorClient, EmulatorError

pytestmark = pytest.mark.anyio


def text(body: str) -> dict[str, object]:
    return {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {"body": body}}


def test_a_lost_response_times_the_client_out_but_the_customer_gets_the_message() -> None:
    receiver = Receiver()
    with serve(receiver.app()) as receiver_url:
        app = create_app(webhook_url=f"{receiver_url}/hook", delivery_delay=0.1)
        with serve(app) as emulator_url, httpx.Client(base_url=emulator_url, timeout=10) as http:
            number = http.post(
                "/_emulator/numbers", json={"display_phone_number": BUSINESS_NUMBER, "onboarded": True}
            ).json()
            pnid = number["phone_number_id"]
            http.post("/_emulator/customers", json={"wa_id": CUSTOMER, "name": "Sheena"})
            http.post(f"/_emulator/customers/{CUSTOMER}/send", json={"to": pnid, "text": {"body": "hi"}})
            fault = {"kind": "lost_response", "seconds": 1.5, "path": "/messages", "times": 1}
            assert http.post("/_emulator/faults", json=fault).status_code == 201
            with pytest.raises(httpx.ReadTimeout):
                http.post(f"/v23.0/{pnid}/messages", json=text("only once"), headers=AUTH, timeout=0.3)
            sent = http.get("/_emulator/messages", params={"origin": "api"}).json()["data"]
            assert [(m["wa_id"], m["content"]) for m in sent] == [(CUSTOMER, {"body": "only once"})]
            wait_for(lambda: [s["status"] for s in receiver.statuses()] == ["sent", "delivered"])
            assert receiver.statuses()[0]["id"] == sent[0]["wamid"]
            # the fault was used once: the next send answers at once
            again = http.post(f"/v23.0/{pnid}/messages", json=text("second"), headers=AUTH, timeout=2)
            assert again.status_code == 200
            assert http.get("/_emulator/faults").json()["faults"] == []


async def test_lost_response_answers_with_the_real_answer_after_the_delay(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    await emu.control.add_faults({"kind": "lost_response", "seconds": 0.2, "phone_number_id": pnid})
    started = asyncio.get_running_loop().time()
    response = await emu.text(pnid, "late")
    assert asyncio.get_running_loop().time() - started >= 0.2
    wamid = response.json()["messages"][0]["id"]
    assert (await emu.control.get_message(wamid))["content"] == {"body": "late"}


async def test_lost_response_seconds_must_not_be_negative(emu: Emu) -> None:
    with pytest.raises(EmulatorError) as caught:
        await emu.control.add_faults({"kind": "lost_response", "seconds": -1})
    assert caught.value.status_code == 422


async def test_no_one_second_window_ever_holds_more_than_20_sends(emu: Emu) -> None:
    """A token bucket would let 20 through at t, then ~19 more by t + 0.95 s; Meta's limit does not."""
    pnid = await emu.coex_number()
    await emu.control.patch_config(pair_burst=1000)
    await emu.customer_writes(pnid)
    first = [(await emu.text(pnid)).status_code for _ in range(20)]
    await emu.control.advance(0.95)
    late = await emu.text(pnid)
    assert first == [200] * 20
    assert error_code(late) == 130429
    await emu.control.advance(0.05)
    assert (await emu.text(pnid)).status_code == 200
    refused = await emu.control.refusals(phone_number_id=pnid)
    assert refused["count_by_code"] == {"130429": 1}
    assert [(r["to"], r["code"]) for r in refused["data"]] == [(CUSTOMER, 130429)]
    assert len(await emu.control.messages(origin="api")) == 21


async def test_every_refused_send_is_counted_by_code(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.create_customer(CUSTOMER, "Sheena")
    assert error_code(await emu.text(pnid, "outside the window")) == 131047
    template = {"type": "template", "template": {"name": "nope", "language": {"code": "en_US"}}}
    assert error_code(await emu.send(pnid, template)) == 132001
    refused = await emu.control.refusals()
    assert refused["count_by_code"] == {"131047": 1, "132001": 1}
    assert (await emu.control.refusals(code=131047))["data"][0]["phone_number_id"] == pnid
    assert await emu.control.messages(origin="api") == []


async def test_messages_lists_everything_the_world_holds_with_who_wrote_it(emu: Emu) -> None:
    pnid = await emu.coex_number()
    other = await emu.coex_number("15550783882")
    await emu.customer_writes(pnid, text="from the customer")
    await emu.control.app_send(pnid, to=CUSTOMER, type="text", content={"body": "from the phone"})
    await emu.text(pnid, "from the api")
    await emu.customer_writes(other, text="elsewhere")
    everything = await emu.control.messages(phone_number_id=pnid)
    assert [(m["origin"], m["direction"], m["content"]["body"]) for m in everything] == [
        ("customer", "inbound", "from the customer"),
        ("business_app", "outbound", "from the phone"),
        ("api", "outbound", "from the api"),
    ]
    assert [m["content"]["body"] for m in await emu.control.messages(direction="inbound")] == [
        "from the customer",
        "elsewhere",
    ]
    assert [m["content"]["body"] for m in await emu.control.messages(origin="business_app")] == [
        "from the phone"
    ]
    assert await emu.control.messages(wa_id="19999999999") == []


async def test_the_ledger_has_one_entry_per_api_message_with_its_price(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    await emu.control.create_template("promo", "en_US", "MARKETING", phone_number_id=pnid)
    await emu.control.app_send(pnid, to=CUSTOMER, type="text", content={"body": "free, from the phone"})
    service = (await emu.text(pnid, "free, in the window")).json()["messages"][0]["id"]
    promo = {"type": "template", "template": {"name": "promo", "language": {"code": "en_US"}}}
    marketing = (await emu.send(pnid, promo)).json()["messages"][0]["id"]
    await emu.control.advance("+2s")
    ledger = await emu.control.ledger(pnid, wa_id=CUSTOMER)
    rows = {e["wamid"]: e for e in ledger["entries"]}
    assert set(rows) == {service, marketing}
    assert {k: rows[service][k] for k in ("category", "billable", "pricing_type", "amount", "currency")} == {
        "category": "service",
        "billable": False,
        "pricing_type": "free_customer_service",
        "amount": 0.0,
        "currency": "USD",
    }
    assert rows[marketing]["billable"] is True
    assert rows[marketing]["amount"] == rows[marketing]["charged"] == 0.025
    assert rows[marketing]["at"] == emu.world.clock.now() - 2
    assert ledger["totals"] == {"USD": 0.025}
    # the statuses the client saw carry the same pricing
    pricing = {s["id"]: s["pricing"] for s in emu.receiver.statuses() if s["status"] == "sent"}
    assert pricing[marketing]["category"] == rows[marketing]["category"]
    assert pricing[marketing]["type"] == rows[marketing]["pricing_type"]
    assert (await emu.control.ledger(wa_id="19999999999"))["entries"] == []


def test_the_control_client_reads_messages_and_ledger_over_loopback() -> None:
    async def scenario(base_url: str) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            emu = EmulatorClient(http)
            number = await emu.create_number(display_phone_number=BUSINESS_NUMBER, onboarded=True)
            await emu.create_customer(CUSTOMER, "Sheena")
            await emu.customer_send(CUSTOMER, to=number["phone_number_id"], text={"body": "hi"})
            response = await http.post(
                f"/v23.0/{number['phone_number_id']}/messages", json=text("hello"), headers=AUTH
            )
            wamid = response.json()["messages"][0]["id"]
            assert [m["origin"] for m in await emu.messages()] == ["customer", "api"]
            assert [e["wamid"] for e in (await emu.ledger())["entries"]] == [wamid]

    with serve(create_app()) as url:
        asyncio.run(scenario(url))
