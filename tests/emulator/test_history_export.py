"""The history export generator: phases, chunk sizes, order, progress, placeholders, 14-day media."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from wacoex.emulator.platform.history_export import (
    DAY,
    HistoryOptions,
    Thread,
    declined_webhooks,
    history_webhooks,
    phase_of,
)

ONBOARDED = 1_780_000_000.0
BUSINESS = "15550783881"
PNID = "106540352242922"


@dataclass(slots=True)
class Item:
    wamid: str
    direction: str
    type: str
    content: Any
    timestamp: float
    status: str


def _thread(wa_id: str, ages_days: list[float], *, media_every: int = 0) -> Thread:
    items = []
    for i, age in enumerate(sorted(ages_days, reverse=True)):
        media = media_every and i % media_every == 0
        items.append(
            Item(
                wamid=f"wamid.{wa_id}.{i}",
                direction="outbound" if i % 2 else "inbound",
                type="image" if media else "text",
                content={"id": f"m{i}", "mime_type": "image/jpeg", "sha256": "abc"}
                if media
                else {"body": f"message {i} " + "x" * 40},
                timestamp=ONBOARDED - age * DAY,
                status="read",
            )
        )
    return Thread(wa_id, items)


def _run(threads: list[Thread], **opts: Any) -> list[dict[str, Any]]:
    return [
        value
        for field, value in history_webhooks(
            threads,
            display_phone_number=BUSINESS,
            phone_number_id=PNID,
            onboarded_at=ONBOARDED,
            options=HistoryOptions(seed=7, **opts),
        )
        if field == "history"
    ]


def _chunks(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for v in values for c in v.get("history", [])]


def test_phase_boundaries_follow_day_ranges() -> None:
    assert phase_of(0) == 0
    assert phase_of(0.5 * DAY) == 0
    assert phase_of(1 * DAY) == 1
    assert phase_of(89.9 * DAY) == 1
    assert phase_of(90 * DAY) == 2
    assert phase_of(179.9 * DAY) == 2
    assert phase_of(180 * DAY) is None


def test_messages_older_than_180_days_and_after_onboarding_are_excluded() -> None:
    thread = _thread("16505551234", [0.2, 10, 100, 179, 181, 400])
    thread.messages.append(  # type: ignore[attr-defined]
        Item("wamid.future", "inbound", "text", {"body": "after"}, ONBOARDED + 60, "read")
    )
    ids = {m["id"] for c in _chunks(_run([thread])) for t in c["threads"] for m in t["messages"]}
    assert ids == {f"wamid.16505551234.{i}" for i in (2, 3, 4, 5)}


def test_each_message_lands_in_its_phase_and_phases_come_in_order() -> None:
    threads = [_thread("16505551234", [0.5, 5, 95]), _thread("12125557890", [0.1, 30, 170])]
    chunks = _chunks(_run(threads))
    phases = [c["metadata"]["phase"] for c in chunks]
    assert phases == sorted(phases)
    for c in chunks:
        for t in c["threads"]:
            for m in t["messages"]:
                age = ONBOARDED - int(m["timestamp"])
                assert phase_of(age) == c["metadata"]["phase"]


def test_history_message_shape_matches_the_documented_example() -> None:
    chunk = _chunks(_run([_thread("16505551234", [0.5, 0.4], media_every=0)]))[0]
    assert set(chunk["metadata"]) == {"phase", "chunk_order", "progress"}
    assert all(isinstance(v, int) for v in chunk["metadata"].values())
    thread = chunk["threads"][0]
    assert thread["id"] == "16505551234"
    inbound, outbound = thread["messages"]
    assert inbound["from"] == "16505551234"
    assert "to" not in inbound
    assert outbound["from"] == BUSINESS
    assert outbound["to"] == "16505551234"
    for m in (inbound, outbound):
        assert isinstance(m["timestamp"], str)
        assert m["timestamp"].isdigit()
        assert m["id"].startswith("wamid.")
        assert m["type"] == "text"
        assert "body" in m["text"]
        assert m["history_context"] == {"status": "READ"}


def test_chunks_stay_under_the_size_limit_and_arrive_out_of_order() -> None:
    threads = [_thread(f"1555000{i:04d}", [d / 3 for d in range(1, 400)]) for i in range(20)]
    values = _run(threads, max_chunk_bytes=20_000)
    for v in values:
        envelope = {"object": "whatsapp_business_account", "entry": [{"id": "1" * 20, "changes": [v]}]}
        assert len(orjson.dumps(envelope)) <= 20_000
    orders: dict[int, list[int]] = {}
    for c in _chunks(values):
        orders.setdefault(c["metadata"]["phase"], []).append(c["metadata"]["chunk_order"])
    assert any(o != sorted(o) for o in orders.values())
    for o in orders.values():
        assert sorted(o) == list(range(1, len(o) + 1))


def test_progress_rises_to_exactly_100_on_the_last_chunk() -> None:
    threads = [_thread(f"1555000{i:04d}", [d / 2 for d in range(1, 300)]) for i in range(5)]
    progress = [c["metadata"]["progress"] for c in _chunks(_run(threads, max_chunk_bytes=10_000))]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    assert progress.count(100) == 1


def test_media_are_placeholders_and_only_recent_media_get_a_followup() -> None:
    thread = _thread("16505551234", [1 + d for d in range(0, 40)], media_every=3)
    values = _run([thread])
    placeholders = {
        m["id"]: m
        for c in _chunks(values)
        for t in c["threads"]
        for m in t["messages"]
        if m["type"] == "media_placeholder"
    }
    assert placeholders
    assert all("image" not in m for m in placeholders.values())
    followups = [m for v in values for m in v.get("messages", [])]
    assert followups, "recent media need a follow-up"
    for m in followups:
        assert m["id"] in placeholders
        assert m["type"] == "image"
        assert m["image"]["id"]
        assert ONBOARDED - int(m["timestamp"]) <= 14 * DAY
    old = [i for i, m in placeholders.items() if ONBOARDED - int(m["timestamp"]) > 14 * DAY]
    assert old
    assert not set(old) & {m["id"] for m in followups}


def test_media_followups_sometimes_arrive_before_their_chunk() -> None:
    threads = [_thread(f"1555000{i:04d}", [0.1 + d / 5 for d in range(60)], media_every=2) for i in range(10)]
    values = _run(threads, max_chunk_bytes=4_000, media_before_chunk_probability=0.5)
    seen: set[str] = set()
    early = 0
    for v in values:
        for c in v.get("history", []):
            seen.update(m["id"] for t in c["threads"] for m in t["messages"])
        early += sum(1 for m in v.get("messages", []) if m["id"] not in seen)
    assert early > 0


def test_no_history_still_completes_with_progress_100() -> None:
    chunks = _chunks(_run([_thread("16505551234", [200, 300])]))
    assert chunks == [{"metadata": {"phase": 0, "chunk_order": 1, "progress": 100}, "threads": []}]


def test_declined_history_is_one_webhook_with_2593109() -> None:
    [(field, value)] = list(declined_webhooks(display_phone_number=BUSINESS, phone_number_id=PNID))
    assert field == "history"
    assert value["metadata"] == {"display_phone_number": BUSINESS, "phone_number_id": PNID}
    [error] = value["history"][0]["errors"]
    assert error["code"] == 2593109
    assert error["error_data"] == {"details": "History sharing is turned off by the business"}
