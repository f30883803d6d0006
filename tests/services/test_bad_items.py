"""One odd item never costs its siblings, and SQLite and PostgreSQL keep the same record of it.

Each body holds a normal customer message and one bad item: a NUL character, a value longer than its
column, an integer out of range, an object or a number where a string belongs. The bad item is
normalised (and applied) or refused (listed at /api/v1/unknown with a reason); either way the
receipt is done and the normal message is in the record.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from tests import payloads as p
from tests.conftest import truncate_all
from tests.gateway import Gateway, running_gateway
from wacoex.domain import facts as f
from wacoex.domain.conversation import NO_TIMESTAMP
from wacoex.services.ingest import Ingest
from wacoex.services.receipts import ReceiptProcessor, RetryPolicy
from wacoex.store.engine import now_ms
from wacoex.store.tables import contacts, conversations, events, history_phases, messages, numbers
from wacoex.store.uow import sql_unit_of_work
from wacoex.whatsapp.bodies import parse_bytes

TS = 1_760_000_000
LONG = "x" * 300


@pytest.fixture
def gw(db_url: str, tmp_path: Path) -> Iterator[Gateway]:
    with running_gateway(db_url, tmp_path) as g:
        g.register()
        yield g


def _with_normal(*bad: dict[str, Any]) -> dict[str, Any]:
    """A body: the normal message wamid.OK, then the changes of the bad bodies, in one entry."""
    body = p.inbound("wamid.OK", "16505550100", TS, "fine", name="Normal")
    for other in bad:
        body["entry"][0]["changes"].extend(other["entry"][0]["changes"])
        if "time" in other["entry"][0]:
            body["entry"][0]["time"] = other["entry"][0]["time"]
    return body


def _message(wamid: str, **fields: Any) -> dict[str, Any]:
    item = {"from": "16505550111", "id": wamid, "timestamp": str(TS + 1), "type": "text"}
    item["text"] = {"body": "bad"}
    item.update(fields)
    return p.envelope("messages", {"messages": [item]})


def _row(gw: Gateway, wamid: str) -> Any:
    with gw.container.engine.connect() as conn:
        return conn.execute(sa.select(messages).where(messages.c.wamid == wamid)).one()


def _reasons(gw: Gateway) -> list[str]:
    return [u["reason"] for u in gw.get("/api/v1/unknown", limit=100)["items"]]


def _refused(reason: str) -> Callable[[Gateway], None]:
    def check(gw: Gateway) -> None:
        assert any(reason in r for r in _reasons(gw)), _reasons(gw)

    return check


def _check_receipt_time(wamid: str) -> Callable[[Gateway], None]:
    """An unreadable timestamp is applied at the time the webhook was received, and noted."""

    def check(gw: Gateway) -> None:
        row = _row(gw, wamid)
        assert row.note == NO_TIMESTAMP
        assert row.occurred_at == row.received_at

    return check


def _history(metadata: dict[str, Any], status: str = "READ", ts: int | str = TS - 100) -> dict[str, Any]:
    msg = p.hmsg("wamid.H1", "16506660001", 0, "old")
    msg.update(timestamp=str(ts), history_context={"status": status})
    chunk = {"metadata": metadata, "threads": [{"id": "16506660001", "messages": [msg]}]}
    return p.envelope("history", {"history": [chunk]})


def _account(**disconnection: Any) -> dict[str, Any]:
    value = {"event": "PARTNER_REMOVED", "phone_number": p.BIZ, "disconnection_info": disconnection}
    return p.envelope("account_update", value, time=TS)


def _check_nul_text(gw: Gateway) -> None:
    assert _row(gw, "wamid.BAD").text == "badtext"


def _check_nul_name(gw: Gateway) -> None:
    names = {c["contact"]["names"]["profile"] for c in gw.conversations()}
    assert "Ana" in names


def _check_nul_wamid(gw: Gateway) -> None:
    assert _row(gw, "wamid.BAD").text == "bad"


def _check_nul_book(gw: Gateway) -> None:
    with gw.container.engine.connect() as conn:
        names = conn.execute(sa.select(contacts.c.book_full_name)).scalars().all()
    assert "Bob" in names


def _check_reply_dropped(gw: Gateway) -> None:
    assert _row(gw, "wamid.BAD").reply_to is None


def _check_no_media(gw: Gateway) -> None:
    row = _row(gw, "wamid.BAD")
    assert (row.media_id, row.media_state) == (None, None)


def _check_integer_target(gw: Gateway) -> None:
    # A number is read as the wamid it spells; the reaction waits for that message.
    row = _row(gw, "12345")
    assert row.placeholder
    assert row.pending_edit[0]["kind"] == "reaction"


def _check_edit(gw: Gateway) -> None:
    row = _row(gw, "wamid.OK")
    assert (row.edited, row.type, row.text) == (True, "text", None)


def _check_no_recipient(gw: Gateway) -> None:
    row = _row(gw, "wamid.S1")
    assert (row.status, row.conversation_id) == ("delivered", None)


def _check_history(phase: int, progress: int, history_status: str | None) -> Callable[[Gateway], None]:
    def check(gw: Gateway) -> None:
        assert _row(gw, "wamid.H1").history_status == history_status
        with gw.container.engine.connect() as conn:
            assert conn.execute(sa.select(history_phases.c.phase, history_phases.c.progress)).one() == (
                phase,
                progress,
            )

    return check


def _check_number_state(reason: str | None) -> Callable[[Gateway], None]:
    def check(gw: Gateway) -> None:
        number = gw.get(f"/api/v1/numbers/{p.PNID}")
        assert number["state"] == "disconnected"
        with gw.container.engine.connect() as conn:
            assert conn.execute(sa.select(numbers.c.state_reason)).scalar() == reason

    return check


def _check_unknown_label(gw: Gateway) -> None:
    items = gw.get("/api/v1/unknown", limit=100)["items"]
    assert len(items) == 2  # one per delivery
    item = items[0]
    assert item["reason"] == f"unknown field {'f' * 100}"
    assert item["field"] == "f" * 64


_REACTION = {"type": "reaction"}

# kind -> (the bad item's body, what the record shows of it)
BAD_ITEMS: dict[str, tuple[dict[str, Any], Callable[[Gateway], None]]] = {
    "nul in a text": (_message("wamid.BAD", text={"body": "bad\u0000text"}), _check_nul_text),
    "nul in a profile name": (
        p.inbound("wamid.BAD", "16505550111", TS + 1, name="A\u0000na"),
        _check_nul_name,
    ),
    "nul in a wamid": (_message("wamid.B\u0000AD"), _check_nul_wamid),
    "nul in an address-book name": (
        p.state_sync(
            {
                "type": "contact",
                "action": "add",
                "contact": {"full_name": "B\u0000ob", "phone_number": "16505550122"},
                "metadata": {"timestamp": str(TS)},
            }
        ),
        _check_nul_book,
    ),
    "nul in an unknown field's name": (
        p.envelope("bad\u0000field", {"x": 1}),
        _refused("unknown field badfield"),
    ),
    "wamid longer than its column": (_message("wamid." + LONG), _refused("id longer than 255 characters")),
    "type longer than its column": (
        _message("wamid.BAD", type="t" * 40),
        _refused("type longer than 32 characters"),
    ),
    "phone number longer than its column": (
        _message("wamid.BAD", **{"from": "1" * 40}),
        _refused("from has more than 32 digits"),
    ),
    "BSUID longer than its column": (
        _message("wamid.BAD", from_user_id="US." + "1" * 200),
        _refused("from_user_id is longer than 160 characters"),
    ),
    "reply id longer than its column": (_message("wamid.BAD", context={"id": LONG}), _check_reply_dropped),
    "media id an object": (
        _message("wamid.BAD", type="image", image={"id": {"nested": 1}, "mime_type": "image/jpeg"}),
        _check_no_media,
    ),
    "media id longer than its column": (
        _message("wamid.BAD", type="image", image={"id": "9" * 200}),
        _check_no_media,
    ),
    "timestamp beyond int64": (
        _message("wamid.BAD", timestamp="99999999999999999999"),
        _check_receipt_time("wamid.BAD"),
    ),
    "reaction target an object": (
        _message("wamid.BAD", **_REACTION, reaction={"message_id": {"id": "wamid.OK"}, "emoji": "x"}),
        _refused("reaction without a target message"),
    ),
    "reaction target an integer": (
        _message("wamid.BAD", **_REACTION, reaction={"message_id": 12345, "emoji": "x"}),
        _check_integer_target,
    ),
    "edit with an object as type and a number as text": (
        _message(
            "wamid.BAD",
            type="edit",
            edit={"original_message_id": "wamid.OK", "message": {"type": {"a": 1}, "text": {"body": 5}}},
        ),
        _check_edit,
    ),
    "status id longer than its column": (
        p.status("wamid." + LONG, "delivered", TS),
        _refused("id longer than 255 characters"),
    ),
    "status recipient longer than its column": (
        p.status("wamid.S1", "delivered", TS, recipient="1" * 40),
        _check_no_recipient,
    ),
    "history phase beyond int32": (
        _history({"phase": 2**40, "chunk_order": 1, "progress": 10}),
        _check_history(-1, 10, "READ"),
    ),
    "history progress beyond int32": (
        _history({"phase": 0, "chunk_order": 1, "progress": 2**40}),
        _check_history(0, 0, "READ"),
    ),
    "history timestamp beyond int64": (
        _history({"phase": 0, "chunk_order": 1, "progress": 10}, ts="99999999999999999999"),
        _check_receipt_time("wamid.H1"),
    ),
    "echo recipient longer than its column": (
        p.echo("wamid.BAD", "+" + "1" * 40, TS),
        _refused("to has more than 32 digits"),
    ),
    "address-book phone number longer than its column": (
        p.state_sync(
            {
                "type": "contact",
                "action": "add",
                "contact": {"full_name": "Bob", "phone_number": "1" * 40},
                "metadata": {"timestamp": str(TS)},
            }
        ),
        _refused("contact.phone_number has more than 32 digits"),
    ),
    "history status longer than its column": (
        _history({"phase": 0, "chunk_order": 1, "progress": 10}, status="S" * 40),
        _check_history(0, 10, None),
    ),
    "account reason longer than its column": (
        _account(reason="R" * 100, initiated_by="SYSTEM"),
        _check_number_state(None),
    ),
    "account event longer than its column": (
        p.envelope("account_update", {"event": "E" * 100, "phone_number": p.BIZ}, time=TS),
        _refused("event longer than 64 characters"),
    ),
    "unknown field and phone_number_id longer than their columns": (
        p.envelope("f" * 100, {"x": 1}, pnid="7" * 100),
        _check_unknown_label,
    ),
}


@pytest.mark.parametrize("kind", list(BAD_ITEMS))
def test_a_bad_item_leaves_its_siblings_applied(gw: Gateway, kind: str) -> None:
    bad, check = BAD_ITEMS[kind]
    body = _with_normal(bad)
    for _ in range(2):  # a redelivery of the same body is applied the same way: never parked
        assert gw.post(body).status_code == 200
    result = gw.drain()
    assert (result.done, result.failed, result.parked) == (2, 0, 0)
    assert [r["state"] for r in gw.get("/api/v1/receipts")["items"]] == ["done", "done"]
    assert "wamid.OK" in [m["wamid"] for m in gw.all_messages()]
    assert not [r for r in _reasons(gw) if r.startswith("failed to apply")]
    check(gw)


def _record(url: str) -> dict[str, Any]:
    """Everything stored, without ids and our own clocks, in an order both engines agree on."""
    from wacoex.store.engine import make_engine
    from wacoex.store.tables import receipts, unknown_items

    engine = make_engine(url)
    ids = {"id", "number_id", "conversation_id", "contact_id", "message_id", "receipt_id"}
    clocks = {"received_at", "created_at", "updated_at", "applied_at", "last_webhook_at"}  # our clocks

    def rows(table: sa.Table) -> list[dict[str, Any]]:
        cols = [c for c in table.columns if c.name not in ids | clocks]
        with engine.connect() as conn:
            found = [
                {c.name: v for c, v in zip(cols, r, strict=True)} for r in conn.execute(sa.select(*cols))
            ]
        # Sorted here: the engines' collations order text differently.
        return sorted(
            found,
            key=lambda row: orjson.dumps(
                row, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=repr
            ),
        )

    tables = (messages, contacts, conversations, events, unknown_items, receipts, history_phases, numbers)
    try:
        return {table.name: rows(table) for table in tables}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_sqlite_and_postgresql_keep_the_same_record_of_every_bad_item(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    sqlite = tmp_path / "wacoex.db"
    shutil.copy(request.getfixturevalue("_sqlite_template"), sqlite)
    postgres: str = request.getfixturevalue("_postgres_database")
    truncate_all(postgres)
    records = []
    for url in (f"sqlite:///{sqlite}", postgres):
        with running_gateway(url, tmp_path / url.split(":")[0]) as gw:
            gw.register()
            for bad, _ in BAD_ITEMS.values():
                assert gw.post(_with_normal(bad)).status_code == 200
            assert gw.drain().done == len(BAD_ITEMS)
        records.append(_record(url))
    assert records[0] == records[1]
    assert len(records[0]["unknown_items"]) >= 10


def _poisoned(parse: Callable[[bytes, str], list[Any]]) -> Callable[[bytes, str], list[Any]]:
    """The real parser, plus facts no parser makes: a customer message whose type is an object (no
    column takes it, on either engine), and a history message of the same kind among good ones."""

    def parse_with_poison(raw: bytes, source: str) -> list[Any]:
        facts = list(parse(raw, source))
        out: list[Any] = []
        for fact in facts:
            out.append(fact)
            if isinstance(fact, f.InboundMessage) and fact.wamid == "wamid.OK":
                poison = {"from": "16505550999", "id": "wamid.POISON", "timestamp": str(TS), "type": {}}
                fields = {k: getattr(fact, k) for k in fact.__dataclass_fields__}
                out.append(
                    f.InboundMessage(
                        **{
                            **fields,
                            "wamid": "wamid.POISON",
                            "from_wa_id": "16505550999",
                            "profile": None,
                            "type": {"not": "a string"},
                            "raw": poison,
                        }
                    )
                )
            if isinstance(fact, f.HistoryChunk) and fact.messages:
                bad = fact.messages[1]
                hm = {k: getattr(bad, k) for k in bad.__dataclass_fields__}
                hm.update(type={"not": "a string"}, raw={"id": bad.wamid, "poison": True})
                msgs = list(fact.messages)
                msgs[1] = f.HistoryMessage(**hm)
                out[-1] = f.HistoryChunk(
                    **{
                        **{k: getattr(fact, k) for k in fact.__dataclass_fields__},
                        "messages": tuple(msgs),
                    }
                )
        return out

    return parse_with_poison


def test_an_item_that_fails_to_apply_is_listed_and_its_siblings_applied(gw: Gateway) -> None:
    processor = ReceiptProcessor(
        sql_unit_of_work(gw.container.engine),
        Ingest(_poisoned(parse_bytes), fetch_media=False, clock=now_ms),
        RetryPolicy(),
        now_ms,
    )
    threads = [
        {
            "id": "16506660001",
            "messages": [p.hmsg(f"wamid.H{k}", "16506660001", TS - 100 + k) for k in range(4)],
        }
    ]
    body = _with_normal(p.history(0, 1, 100, threads))
    for _ in range(2):
        assert gw.post(orjson.dumps(body)).status_code == 200
    result = processor.drain()
    assert (result.done, result.failed, result.parked) == (2, 0, 0)
    # The normal message and three of the four history messages are in; the phase completed.
    assert gw.scalar("SELECT count(*) FROM messages WHERE wamid = 'wamid.OK'") == 1
    assert gw.scalar("SELECT count(*) FROM messages WHERE origin = 'history'") == 3
    assert gw.get(f"/api/v1/numbers/{p.PNID}/history-sync")["state"] == "complete"
    # What failed left nothing behind (the poisoned sender is no contact) and is listed, per receipt.
    assert gw.scalar("SELECT count(*) FROM contacts WHERE wa_id = '16505550999'") == 0
    assert gw.scalar("SELECT count(*) FROM messages WHERE wamid = 'wamid.POISON'") == 0
    failed = [u for u in gw.get("/api/v1/unknown", limit=100)["items"] if u["reason"].startswith("failed")]
    assert len(failed) == 4
    assert sorted(str(u["raw"].get("id")) for u in failed) == sorted(["wamid.POISON", "wamid.H1"] * 2)
    assert all(u["reason"].startswith("failed to apply: ") for u in failed)
    assert gw.scalar("SELECT count(*) FROM events WHERE type = 'message.received'") == 1
