"""Applying claimed receipts in batches gives the same record as applying them one at a time.

The same stream of webhook bodies (same bytes, same received_at) is appended to two fresh databases
of one engine. A drains the queue with batches of sizes hypothesis draws, B with one receipt per
`run_once`. Both run on a fixed clock, so every stored row, event, listed unknown item and receipt
state must be identical once ids are replaced by natural keys (tests/properties/record.py).

Streams without merges or renames must pass everywhere, also with batches cut short at the lock
budget. Streams where contacts merge, or customers rename themselves, run in tests of their own,
each with the minimal counterexample of a bug it found as an explicit example: a merged-away
conversation's id given to a new conversation in the same transaction (SQLite), and a newer profile
name equal to one seen earlier through another identity of the person left unapplied.

`WACOEX_PROPERTY_EXAMPLES` raises the number of examples per engine for a soak run.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import wacoex.bootstrap
from tests import payloads as p
from tests.properties.conftest import Pair
from tests.properties.record import differences, dump
from tests.properties.streams import CUSTOMERS, NUMBERS, TS, USER_IDS, Mix, streams
from wacoex.bootstrap import build
from wacoex.config import Settings
from wacoex.store.numbers import add_number
from wacoex.store.receipts import append
from wacoex.store.tables import numbers

NOW = (TS + 3600) * 1000
"""Our clock, frozen: `created_at`, `applied_at` and the like are equal in both databases."""
RECEIVED_AT = (TS + 1800) * 1000
EXAMPLES = int(os.environ.get("WACOEX_PROPERTY_EXAMPLES", "25"))


def _fixed_clock() -> int:
    return NOW


def _apply(
    url: str, bodies: list[bytes], batch_sizes: list[int], *, lock_budget_ms: int = 60_000
) -> dict[str, Any]:
    """Register the numbers, append `bodies` as receipts, drain with `batch_sizes` in turn; the record.

    The default lock budget never cuts a batch short, so the batches are the ones drawn.
    """
    with tempfile.TemporaryDirectory() as media, pytest.MonkeyPatch.context() as mp:
        # The one clock bootstrap wires into the apply path (Ingest and ReceiptProcessor).
        mp.setattr(wacoex.bootstrap, "now_ms", _fixed_clock)
        config = Settings(
            database_url=url,
            media_dir=Path(media),
            fetch_media=False,
            dev=True,
            retry_base_seconds=0.0,
            apply_lock_budget_ms=lock_budget_ms,
        )
        container = build(config, migrate=False)
        try:
            with container.engine.begin() as conn:
                for pnid, display in NUMBERS:
                    add_number(
                        conn,
                        phone_number_id=pnid,
                        display_phone_number=display,
                        waba_id=p.WABA,
                        provider="meta",
                        coexistence=True,
                    )
                conn.execute(numbers.update().values(created_at=NOW, updated_at=NOW))
                append(conn, [("meta", b, RECEIVED_AT + 1000 * i) for i, b in enumerate(bodies)])
            for turn in range(10_000):
                if container.processor.run_once(batch_sizes[turn % len(batch_sizes)]).claimed == 0:
                    break
            else:
                pytest.fail("the queue never drained")
        finally:
            container.dispose()
    record = dump(url)
    ours = (
        {e["created_at"] for e in record["events"]}
        | {r["applied_at"] for r in record["receipts"]}
        | {c["created_at"] for c in record["conversations"].values()}
    )
    assert ours <= {NOW, None}, "the apply did not run on the fixed clock: the comparison would be noise"
    return record


def _check(pair: Pair, bodies: list[bytes], batch_sizes: list[int], *, lock_budget_ms: int = 60_000) -> None:
    batched_url, serial_url = pair()
    batched = _apply(batched_url, bodies, batch_sizes, lock_budget_ms=lock_budget_ms)
    serial = _apply(serial_url, bodies, [1])
    assert serial["receipts"], "nothing was appended"
    diff = differences(batched, serial)
    if diff:
        stream = "\n".join(f"  receipt {i}: {b.decode()}" for i, b in enumerate(bodies))
        differ = "\n".join(diff)
        pytest.fail(
            f"batches {batch_sizes} differ from one receipt at a time:\n{differ}\nthe stream:\n{stream}"
        )


# Customer A changes number to the one customer B writes from (A and B become one contact, B's
# conversation is merged into A's and deleted); in the same transaction the business writes to a
# new customer C from the phone. On SQLite C's new conversation takes the id B's had (rowids are
# reused) and the repository's alias "B's conversation -> A's", kept for the whole transaction,
# sends C's counters and message.echo event to A's conversation (the message row itself is right).
A, B, C = CUSTOMERS[2], CUSTOMERS[0], CUSTOMERS[1]


def _meta(field: str, value: dict[str, Any]) -> dict[str, Any]:
    meta = {"display_phone_number": "15550783881", "phone_number_id": p.PNID}
    return {"field": field, "value": {"messaging_product": "whatsapp", "metadata": meta, **value}}


def _image(frm: str, wamid: str, **extra: Any) -> dict[str, Any]:
    image = {"id": f"media-{wamid}", "mime_type": "image/jpeg", "caption": "a photo"}
    return {"from": frm, "id": wamid, "timestamp": str(TS), "type": "image", "image": image, **extra}


# A customer's message seen again after a number change, once with their BSUID, then an echo to
# their old number naming another BSUID, in one webhook applied in a batch after the change: the
# batch read the contact again from the database (by the old number) and that read replaced the
# BSUID it had just given the contact and not written yet, so the echo's BSUID won.
_ANA = {"profile": {"name": "Ana"}}
REREAD_AFTER_CHANGE = [
    orjson.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": p.WABA, "changes": [change]}],
        }
    )
    for change in (
        _meta("messages", {"messages": [_image(A, "wamid.C0")], "contacts": [{"wa_id": A, **_ANA}]}),
        _meta("messages", {"messages": [_image(A, "wamid.C0")], "contacts": [{"wa_id": A, **_ANA}]}),
        _meta(
            "messages",
            {
                "messages": [
                    {
                        "from": B,
                        "id": "wamid.S0",
                        "timestamp": str(TS),
                        "type": "system",
                        "system": {
                            "body": f"User changed from {B} to {A}",
                            "wa_id": A,
                            "type": "user_changed_number",
                        },
                    }
                ]
            },
        ),
    )
]
REREAD_AFTER_CHANGE.append(
    orjson.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": p.WABA,
                    "changes": [
                        _meta(
                            "messages",
                            {"messages": [_image(A, "wamid.C0")], "contacts": [{"wa_id": A, **_ANA}]},
                        ),
                        _meta(
                            "messages",
                            {
                                "messages": [_image(A, "wamid.C0", from_user_id="US.1")],
                                "contacts": [{"wa_id": A, "user_id": "US.1", **_ANA}],
                            },
                        ),
                        _meta(
                            "smb_message_echoes",
                            {
                                "message_echoes": [
                                    {**_image(p.BIZ, "wamid.B0"), "to": B, "to_user_id": "US.2"}
                                ]
                            },
                        ),
                    ],
                }
            ],
        }
    )
)


MERGE_THEN_NEW_CONVERSATION = [
    orjson.dumps(body)
    for body in (
        p.inbound("wamid.C0", A, TS, name=None),
        p.inbound("wamid.C1", B, TS, name=None),
        p.inbound(
            "wamid.S0",
            A,
            TS + 60,
            type_="system",
            content={"body": f"changed to {B}", "wa_id": B, "type": "user_changed_number"},
            name=None,
        ),
        p.echo("wamid.B0", C, TS + 120),
    )
]


def _named(name: str, user_id: str | None, ts: int) -> dict[str, Any]:
    body = p.inbound("wamid.C0", C, ts, name=name)
    if user_id is not None:
        body["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"] = user_id
    return body


# Customer C is named Ana (contacts[] with their BSUID), then in one later webhook Bea (contacts[]
# without the BSUID) and Ana again, newest (with it). Batched, the second Ana is never applied: the
# batch cache remembers "C by (wa_id, BSUID) is named Ana" from the first receipt, though the
# contact was renamed Bea since through the other key, so the contact keeps the older name Bea.
RENAMED_BACK = [orjson.dumps(_named("Ana", USER_IDS[C], TS))]
RENAMED_BACK.append(
    orjson.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                _named("Bea", None, TS + 60)["entry"][0],
                _named("Ana", USER_IDS[C], TS + 120)["entry"][0],
            ],
        }
    )
)


_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # database_pair is module-scoped and hands out new databases for every example
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
BATCH_SIZES = st.lists(st.integers(1, 12), min_size=1, max_size=8)


@_SETTINGS
@given(bodies=streams(Mix(merges=False, renames=False)), batch_sizes=BATCH_SIZES)
def test_batches_of_any_size_give_the_record_of_one_receipt_at_a_time(
    database_pair: Pair, bodies: list[bytes], batch_sizes: list[int]
) -> None:
    _check(database_pair, bodies, batch_sizes)


@_SETTINGS
@given(bodies=streams(Mix(merges=False, renames=False)), batch_sizes=BATCH_SIZES)
def test_batches_cut_short_at_the_lock_budget_give_the_record_of_one_receipt_at_a_time(
    database_pair: Pair, bodies: list[bytes], batch_sizes: list[int]
) -> None:
    """With a 1 ms lock budget a transaction stops after any unit of work: receipts are applied in
    part and resumed in the next transaction, with the batch cache carried over (where it stops
    depends on the machine's speed; the record must not).
    """
    _check(database_pair, bodies, batch_sizes, lock_budget_ms=1)


@_SETTINGS
@example(bodies=MERGE_THEN_NEW_CONVERSATION, batch_sizes=[2])
@example(bodies=REREAD_AFTER_CHANGE, batch_sizes=[2])
@given(bodies=streams(Mix(merges=True, renames=False)), batch_sizes=BATCH_SIZES)
def test_batches_give_the_record_of_one_receipt_at_a_time_when_contacts_merge(
    database_pair: Pair, bodies: list[bytes], batch_sizes: list[int]
) -> None:
    """Number changes to a number another contact has: two contacts, and their conversations, merge."""
    _check(database_pair, bodies, batch_sizes)


@_SETTINGS
@example(bodies=RENAMED_BACK, batch_sizes=[2])
@given(bodies=streams(Mix(merges=False, renames=True)), batch_sizes=BATCH_SIZES)
def test_batches_give_the_record_of_one_receipt_at_a_time_when_customers_rename_themselves(
    database_pair: Pair, bodies: list[bytes], batch_sizes: list[int]
) -> None:
    """Profile names change between webhooks, reported with and without the customer's BSUID."""
    _check(database_pair, bodies, batch_sizes)


def test_the_record_names_rows_by_natural_keys(database_pair: Pair) -> None:
    """The comparison is not vacuous: the record holds what the stream stored, by natural key."""
    msg = p.inbound("wamid.C0", CUSTOMERS[0], TS, "hello", name="Ana")
    status = p.status("wamid.B0", "delivered", TS + 60, recipient=CUSTOMERS[1])
    url, _ = database_pair()
    record = _apply(url, [orjson.dumps(msg), orjson.dumps(status)], [5])
    assert set(record["messages"]) == {(p.PNID, "wamid.C0"), (p.PNID, "wamid.B0")}
    received = record["messages"][(p.PNID, "wamid.C0")]
    assert received["conversation_id"] == (p.PNID, CUSTOMERS[0], None)
    assert (received["text"], received["origin"], received["received_at"]) == (
        "hello",
        "customer",
        RECEIVED_AT,
    )
    assert [e["type"] for e in record["events"]] == ["message.received", "message.status"]
    assert record["events"][1]["message_id"] == (p.PNID, "wamid.B0")
    assert [r["state"] for r in record["receipts"]] == ["done", "done"]
    assert record["conversations"][(p.PNID, CUSTOMERS[0], None)]["unread_count"] == 1
