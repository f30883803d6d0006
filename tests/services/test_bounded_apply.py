"""Bounded apply work: no webhook, however large, holds SQLite's write lock for long or floods the record.

A receipt is applied in units (a fact, or 500 messages of a history chunk); a transaction stops taking
units once it has used its lock budget, or at once when a webhook waits to be stored, and the receipt
resumes where it stopped. Unreadable parts of one body are stored up to a cap and counted beyond it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from tests import payloads as p
from tests.conftest import truncate_all
from tests.gateway import Gateway, running_gateway
from wacoex.services.ingest import Ingest
from wacoex.services.receipts import BatchResult, ReceiptProcessor, RetryPolicy
from wacoex.store.engine import now_ms
from wacoex.store.ingress_priority import IngressPriority
from wacoex.store.uow import sql_unit_of_work
from wacoex.whatsapp.bodies import parse_bytes


@pytest.fixture
def gw(db_url: str, tmp_path: Path) -> Iterator[Gateway]:
    with running_gateway(db_url, tmp_path) as g:
        g.register()
        yield g


def _one_unit_per_transaction(gw: Gateway, **kw: Any) -> ReceiptProcessor:
    """A processor whose budget is spent after one unit: the most sliced application there is."""
    ingest = Ingest(parse_bytes, fetch_media=False, clock=now_ms)
    return ReceiptProcessor(
        sql_unit_of_work(gw.container.engine), ingest, RetryPolicy(), now_ms, lock_budget=0.0, **kw
    )


def _drain(processor: ReceiptProcessor) -> tuple[BatchResult, int]:
    """Drain; returns the totals and how many transactions it took."""
    total, transactions = BatchResult(), 0
    while True:
        r = processor.run_once(50)
        if r.claimed == 0:
            return total, transactions
        transactions += 1
        for name in ("done", "held", "partial", "failed", "parked"):
            setattr(total, name, getattr(total, name) + getattr(r, name))


def _record(gw: Gateway) -> dict[str, Any]:
    """What a user sees, minus our own receipt times, with row ids named by what they identify.

    Ids are the database's (PostgreSQL's sequences leave gaps where a transaction took ids it did
    not use), so a conversation is named by its contact's number and a message by its wamid.
    """
    with gw.container.engine.connect() as conn:
        conv_key = {
            r.id: r.wa_id
            for r in conn.execute(
                sa.text("SELECT v.id, c.wa_id FROM conversations v JOIN contacts c ON c.id = v.contact_id")
            )
        }
        wamid_of = {r.id: r.wamid for r in conn.execute(sa.text("SELECT id, wamid FROM messages"))}
        events = [
            (r.type, conv_key.get(r.conversation_id), wamid_of.get(r.message_id), r.payload)
            for r in conn.execute(
                sa.text("SELECT type, conversation_id, message_id, payload FROM events ORDER BY id")
            )
        ]
    messages = [
        {
            k: (conv_key[v] if k == "conversation_id" and v is not None else v)
            for k, v in m.items()
            if k not in ("received_at", "id")
        }
        for m in gw.all_messages()
    ]
    conversations = [
        {k: (conv_key[v] if k == "id" else v) for k, v in c.items() if k not in ("window", "contact")}
        | {"contact": {k: v for k, v in c["contact"].items() if k != "id"}}
        for c in gw.conversations()
    ]
    history = gw.get(f"/api/v1/numbers/{p.PNID}/history-sync")
    for phase in history["phases"]:
        del phase["updated_at"]
    return {"messages": messages, "conversations": conversations, "events": events, "history": history}


def _mixed_stream() -> list[dict[str, Any]]:
    """Live messages, statuses, an echo, an edit before its message, and a history chunk of 1,200."""
    bodies: list[dict[str, Any]] = []
    items = [
        {
            "from": f"1650555{i:04d}",
            "id": f"wamid.L{i}",
            "timestamp": str(1760000000 + i),
            "type": "text",
            "text": {"body": f"live {i}"},
        }
        for i in range(60)
    ]
    bodies.append(p.envelope("messages", {"messages": items}))
    edit = {
        "from": "16505550001",
        "id": "wamid.E1",
        "timestamp": "1760000100",
        "type": "edit",
        "edit": {"original_message_id": "wamid.LATE", "message": {"type": "text", "text": {"body": "new"}}},
    }
    bodies.append(p.envelope("messages", {"messages": [edit]}))
    bodies.append(p.inbound("wamid.LATE", "16505550001", 1760000050, "old"))
    bodies.append(p.echo("wamid.ECHO", "16505550002", 1760000200))
    bodies.append(p.status("wamid.API1", "delivered", 1760000300))
    threads = [
        {
            "id": f"1650666{t:04d}",
            "messages": [p.hmsg(f"wamid.H{t}.{k}", f"1650666{t:04d}", 1750000000 + k) for k in range(40)],
        }
        for t in range(30)
    ]
    bodies.append(p.history(0, 1, 100, threads))
    return bodies


def test_a_receipt_applied_one_unit_per_transaction_gives_the_same_record(
    db_url: str, tmp_path: Path
) -> None:
    records = []
    for sliced in (False, True):
        with running_gateway(db_url, tmp_path / str(sliced)) as g:
            g.register()
            for body in _mixed_stream():
                assert g.post(body).status_code == 200
            if sliced:
                totals, transactions = _drain(_one_unit_per_transaction(g))
                # 60 + 1 + 1 + 1 + 1 units, and the chunk of 1,200 messages in pieces of 500: 3 units
                assert transactions >= 60
                assert totals.partial > 0
            else:
                g.drain()
            assert g.scalar("SELECT count(*) FROM receipts WHERE state <> 'done'") == 0
            assert g.scalar("SELECT count(*) FROM receipts WHERE progress IS NOT NULL") == 0
            records.append(_record(g))
        truncate_all(db_url)  # the second run starts from an empty record too
    assert records[0] == records[1]
    history = records[1]["history"]
    assert history["messages_imported"] == 1200
    assert history["phases"][0]["threads"] == 30
    assert history["state"] == "complete"
    assert sum(1 for e in records[1]["events"] if e[0] == "history.completed") == 1


def test_a_history_chunk_is_split_so_the_phase_completes_after_its_last_message(gw: Gateway) -> None:
    threads = [
        {
            "id": "16506660001",
            "messages": [p.hmsg(f"wamid.P{k}", "16506660001", 1750000000 + k) for k in range(1100)],
        }
    ]
    assert gw.post(p.history(0, 1, 100, threads)).status_code == 200
    processor = _one_unit_per_transaction(gw)
    first = processor.run_once(50)
    assert first.partial == 1
    # One piece of 500 is in; the phase is not complete yet and the receipt resumes at unit 1.
    assert gw.scalar("SELECT count(*) FROM messages") == 500
    assert gw.scalar("SELECT history_state FROM numbers") == "in_progress"
    assert gw.scalar("SELECT progress FROM receipts") == 1
    assert gw.scalar("SELECT state FROM receipts") == "pending"
    _drain(processor)
    assert gw.scalar("SELECT count(*) FROM messages") == 1100
    assert gw.scalar("SELECT history_state FROM numbers") == "complete"
    assert gw.scalar("SELECT state FROM receipts") == "done"
    assert gw.scalar("SELECT facts FROM receipts") == 1  # one fact, applied as three units


def test_a_restart_between_slices_resumes_without_duplicates(gw: Gateway) -> None:
    items = [
        {
            "from": f"1650555{i:04d}",
            "id": f"wamid.R{i}",
            "timestamp": "1760000000",
            "type": "text",
            "text": {"body": f"m {i}"},
        }
        for i in range(30)
    ]
    assert gw.post(p.envelope("messages", {"messages": items})).status_code == 200
    assert _one_unit_per_transaction(gw).run_once(50).partial == 1
    assert gw.scalar("SELECT count(*) FROM messages") == 1
    # A new worker (nothing cached) picks the receipt up where the first one stopped.
    result = gw.drain()
    assert result.done == 1
    assert gw.scalar("SELECT count(*) FROM messages") == 30
    assert gw.scalar("SELECT count(*) FROM events WHERE type = 'message.received'") == 30
    assert gw.scalar("SELECT count(DISTINCT wamid) FROM messages") == 30


def test_a_receipt_waiting_for_a_number_across_slices_is_held_then_applied(gw: Gateway) -> None:
    ours = p.inbound("wamid.OURS", "16505550001", 1760000000)["entry"][0]
    theirs = p.envelope(
        "messages",
        {
            "messages": [
                {
                    "from": "16505550002",
                    "id": "wamid.THEIRS",
                    "timestamp": "1760000001",
                    "type": "text",
                    "text": {"body": "for a number not registered yet"},
                }
            ]
        },
        pnid="999000999",
        display="15550000000",
    )["entry"][0]
    later = p.inbound("wamid.OURS2", "16505550001", 1760000002)["entry"][0]
    body = {"object": "whatsapp_business_account", "entry": [ours, theirs, later]}
    assert gw.post(body).status_code == 200
    _drain(_one_unit_per_transaction(gw))
    assert gw.scalar("SELECT state FROM receipts") == "held"
    assert "999000999" in gw.scalar("SELECT waiting_for FROM receipts")
    assert gw.scalar("SELECT count(*) FROM messages") == 2
    gw.register(phone_number_id="999000999", display_phone_number="15550000000")
    assert gw.drain().done == 1
    assert gw.scalar("SELECT count(*) FROM messages") == 3


def test_a_waiting_webhook_makes_the_apply_commit_after_the_unit_it_is_in(
    gw: Gateway, tmp_path: Path
) -> None:
    items = [
        {
            "from": f"1650555{i:04d}",
            "id": f"wamid.W{i}",
            "timestamp": "1760000000",
            "type": "text",
            "text": {"body": f"m {i}"},
        }
        for i in range(20)
    ]
    assert gw.post(p.envelope("messages", {"messages": items})).status_code == 200
    priority = IngressPriority(str(tmp_path / "probe.ingress-lock"))
    ingest = Ingest(parse_bytes, fetch_media=False, clock=now_ms)
    ticks = iter(range(10**6))  # a clock where every look at it is a second later
    processor = ReceiptProcessor(
        sql_unit_of_work(gw.container.engine),
        ingest,
        RetryPolicy(),
        now_ms,
        lock_budget=60.0,
        yield_to=priority.waiting,
        monotonic=lambda: float(next(ticks)),
    )
    storing = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with priority.storing():
            storing.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert storing.wait(10)
        # A minute of budget, yet it stopped once it had done its quantum of work (here: one unit).
        assert processor.run_once(50).partial == 1
        assert gw.scalar("SELECT count(*) FROM messages") == 1
    finally:
        release.set()
        t.join()
    assert processor.run_once(50).done == 1  # no writer waiting: the rest in one transaction
    assert gw.scalar("SELECT count(*) FROM messages") == 20


def test_unreadable_parts_are_stored_up_to_the_cap_and_counted_beyond_it(gw: Gateway) -> None:
    body = {"object": "whatsapp_business_account", "entry": [{} for _ in range(5000)]}
    body["entry"].append(p.inbound("wamid.AMONG", "16505550001", 1760000000)["entry"][0])
    assert gw.post(body).status_code == 200
    assert gw.drain().done == 1
    unknown = gw.get("/api/v1/unknown", limit=500)["items"]
    assert len(unknown) == 101
    summary = unknown[0]  # newest first
    assert summary["raw"] == {"not_stored": 4900}
    assert "4900 more unreadable parts" in summary["reason"]
    assert gw.scalar("SELECT count(*) FROM messages WHERE wamid = 'wamid.AMONG'") == 1


def test_the_unknown_cap_is_a_setting(db_url: str, tmp_path: Path) -> None:
    bad_changes = [{"field": f"not_a_field_{i}", "value": {}} for i in range(50)]
    body = {"object": "whatsapp_business_account", "entry": [{"id": p.WABA, "changes": bad_changes}]}
    with running_gateway(db_url, tmp_path, max_unknown_per_receipt=10) as g:
        assert g.post(orjson.dumps(body)).status_code == 200
        g.drain()
        assert g.scalar("SELECT count(*) FROM unknown_items") == 11
        # Replaying the receipt forgets what it recorded before: still 10 + 1.
        assert g.client.post("/api/v1/receipts/1/replay", headers=g.auth).status_code == 200
        g.drain()
        assert g.scalar("SELECT count(*) FROM unknown_items") == 11
