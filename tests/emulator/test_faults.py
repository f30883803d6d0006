"""Faults on demand: duplicates, batching, reordering, delays, drops, API errors, slowness, media expiry."""

from __future__ import annotations

import time

import pytest

from tests.emulator.conftest import Emu, error_code
from wacoex.emulator.client import EmulatorError

pytestmark = pytest.mark.anyio


async def test_duplicate_delivers_the_same_bytes_again(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.add_faults({"kind": "duplicate", "count": 2, "times": 1})
    await emu.customer_writes(pnid)
    await emu.customer_writes(pnid)
    bodies = [r.body for r in emu.receiver.received]
    assert len(bodies) == 4
    assert bodies[0] == bodies[1] == bodies[2] != bodies[3]
    assert await emu.control.list_faults() == []


async def test_batch_puts_several_entries_in_one_post(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.add_faults({"kind": "batch", "size": 3, "times": 3})
    for text in ("a", "b", "c"):
        await emu.customer_writes(pnid, text=text)
    (post,) = emu.receiver.received
    texts = [c["value"]["messages"][0]["text"]["body"] for e in post.json["entry"] for c in e["changes"]]
    assert texts == ["a", "b", "c"]
    assert len(post.json["entry"]) == 3


async def test_batch_changes_mode_merges_changes_into_one_entry(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.add_faults({"kind": "batch", "size": 2, "mode": "changes"})
    await emu.customer_writes(pnid, text="a")
    await emu.customer_writes(pnid, text="b")
    (post,) = emu.receiver.received
    (entry,) = post.json["entry"]
    assert len(entry["changes"]) == 2


async def test_partial_batch_is_flushed_after_max_wait(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.add_faults({"kind": "batch", "size": 5, "max_wait": 2})
    await emu.customer_writes(pnid)
    assert emu.receiver.received == []
    await emu.control.advance("+2s")
    assert len(emu.receiver.received) == 1


async def test_reorder_sends_held_deliveries_newest_first(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.add_faults({"kind": "reorder", "window": 3, "times": 3})
    for text in ("1", "2", "3"):
        await emu.customer_writes(pnid, text=text)
    texts = [v["messages"][0]["text"]["body"] for v in emu.receiver.values("messages")]
    assert texts == ["3", "2", "1"]


async def test_delay_holds_a_webhook_on_the_virtual_clock(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.add_faults({"kind": "delay", "seconds": 60, "field": "messages"})
    await emu.customer_writes(pnid)
    assert emu.receiver.received == []
    await emu.control.advance("+59s")
    assert emu.receiver.received == []
    await emu.control.advance("+1s")
    assert len(emu.receiver.received) == 1


async def test_dropped_delivery_is_retried_later(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.add_faults({"kind": "drop", "times": 1})
    await emu.customer_writes(pnid)
    assert emu.receiver.received == []
    await emu.control.advance("+10s")
    assert len(emu.receiver.received) == 1
    (delivery,) = await emu.control.webhooks()
    assert delivery["attempts"][0]["error"] == "dropped by fault"
    assert delivery["state"] == "delivered"


@pytest.mark.parametrize(("status", "code"), [(500, 1), (503, 2), (429, 4)])
async def test_api_error_fault_answers_graph_errors(emu: Emu, status: int, code: int) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    await emu.control.add_faults(
        {"kind": "api_error", "status": status, "times": 1, "path": "/messages", "retry_after": 3}
    )
    response = await emu.text(pnid)
    assert response.status_code == status
    assert error_code(response) == code
    assert response.headers["retry-after"] == "3"
    assert (await emu.text(pnid)).status_code == 200


async def test_api_error_can_be_limited_to_one_number(emu: Emu) -> None:
    first = await emu.coex_number()
    second = await emu.coex_number("15550783882")
    await emu.control.add_faults({"kind": "api_error", "status": 500, "phone_number_id": second})
    assert (await emu.graph("GET", f"/{first}")).status_code == 200
    assert (await emu.graph("GET", f"/{second}")).status_code == 500


async def test_slow_api_answers_late(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.add_faults({"kind": "slow_api", "seconds": 0.3, "times": 1})
    started = time.perf_counter()
    assert (await emu.graph("GET", f"/{pnid}")).status_code == 200
    assert time.perf_counter() - started >= 0.3


async def test_probability_uses_the_seeded_generator(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.add_faults({"kind": "duplicate", "probability": 0.5})
    for _ in range(20):
        await emu.customer_writes(pnid)
    assert 20 < len(emu.receiver.received) < 40


async def test_invalid_fault_specs_are_422_and_faults_can_be_cleared(emu: Emu) -> None:
    with pytest.raises(EmulatorError) as caught:
        await emu.control.add_faults({"kind": "meteor"})
    assert caught.value.status_code == 422
    added = await emu.control.add_faults({"kind": "delay", "seconds": 1}, {"kind": "drop"})
    assert len(added["faults"]) == 2
    await emu.control.clear_faults(added["added"][0]["id"])
    assert [f["kind"] for f in await emu.control.list_faults()] == ["drop"]
    await emu.control.clear_faults()
    assert await emu.control.list_faults() == []
