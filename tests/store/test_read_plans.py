"""The read API's lists are index ranges on both engines: no page sorts, however deep.

Each list is walked page by page against the order computed here, ties on the time included; then
each page's query is explained: SQLite must not "USE TEMP B-TREE", PostgreSQL must have no Sort
node, and a later page must seek to its cursor (an index condition), not read every earlier row.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wacoex.store import queries
from wacoex.store.engine import make_engine
from wacoex.store.tables import contacts, conversations, messages, numbers

N = 3000  # enough rows that PostgreSQL's planner would rather sort than walk a useless index


def _fill(conn: Connection) -> None:
    rnd = random.Random(7)
    conn.execute(
        numbers.insert(),
        [
            {
                "phone_number_id": f"pn{n}",
                "display_phone_number": f"1555000{n}",
                "waba_id": "w",
                "provider": "meta",
                "created_at": 0,
                "updated_at": 0,
            }
            for n in (1, 2)
        ],
    )
    conn.execute(
        contacts.insert(),
        [
            {"number_id": 1 + i % 2, "wa_id": f"1650{i:07d}", "created_at": 0, "updated_at": 0}
            for i in range(N)
        ],
    )
    # Few distinct times, some NULL (sorted as 0): ties the cursor must step through by id.
    times = [None, 0, 5, 1000, 1000, 2000, *range(3000, 3050)]
    conn.execute(
        conversations.insert(),
        [
            {
                "number_id": 1 + i % 2,
                "contact_id": i + 1,
                "last_message_at": rnd.choice(times),
                "created_at": 0,
            }
            for i in range(N)
        ],
    )
    conn.execute(
        messages.insert(),
        [
            {
                "number_id": 1,
                "conversation_id": 1 + (i % 50 == 0) * 2,  # most in conversation 1
                "wamid": f"wamid.{rnd.randrange(10**6):06d}.{i}",
                "direction": "inbound",
                "origin": "customer",
                "type": "text",
                "occurred_at": rnd.choice([None, 10, 20, *range(100, 130)]),
                "received_at": rnd.choice([10, 20, 25]),
            }
            for i in range(N)
        ],
    )
    conn.execute(sa.text("ANALYZE"))


def _walk(fetch: Any, key: Any, limit: int = 37) -> list[Any]:
    seen: list[Any] = []
    after = None
    while True:
        rows = fetch(limit + 1, after)
        seen += [r.id for r in rows[:limit]]
        if len(rows) <= limit:
            return seen
        after = key(rows[limit - 1])


def _plan(conn: Connection, query: sa.Select[Any]) -> str:
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "sqlite":
        return "\n".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # as on a big table
    (plan,) = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql).scalar_one()
    return json.dumps(plan)


def _pg_nodes(plan: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    todo = [json.loads(plan)["Plan"]]
    while todo:
        node = todo.pop()
        out.append(node)
        todo += node.get("Plans", [])
    return out


@pytest.fixture
def filled(db_url: str) -> Any:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        _fill(conn)
    yield engine
    engine.dispose()


def test_conversation_pages_walk_the_whole_list_in_order(filled: sa.Engine) -> None:
    with filled.connect() as conn:
        rows = conn.execute(sa.select(conversations).where(conversations.c.number_id == 1)).all()
        expected = [r.id for r in sorted(rows, key=lambda r: (r.last_message_at or 0, r.id), reverse=True)]
        walked = _walk(
            lambda n, after: queries.conversations_page(conn, 1, limit=n, after=after),
            lambda r: (r.sort_at, r.id),
        )
        assert walked == expected


def test_message_pages_walk_the_whole_timeline_in_order(filled: sa.Engine) -> None:
    with filled.connect() as conn:
        rows = conn.execute(sa.select(messages).where(messages.c.conversation_id == 1)).all()
        order = sorted(
            rows, key=lambda r: (r.occurred_at if r.occurred_at is not None else r.received_at, r.wamid)
        )
        walked = _walk(
            lambda n, after: queries.messages_page(conn, 1, limit=n, after=after),
            lambda r: (r.sort_at, r.wamid),
        )
        assert walked == [r.id for r in order]


@pytest.mark.parametrize("after", [None, (3025, 1500)], ids=["first page", "later page"])
def test_a_conversation_page_is_an_index_range(filled: sa.Engine, after: tuple[int, int] | None) -> None:
    with filled.begin() as conn:
        plan = _plan(conn, queries.conversations_page_query(1, limit=51, after=after))
        if conn.dialect.name == "sqlite":
            assert "TEMP B-TREE" not in plan, plan
            seek = "(number_id=? AND <expr><?)" if after else "(number_id=?)"
            assert f"SEARCH conversations USING INDEX ix_conversations_activity {seek}" in plan, plan
        else:
            nodes = _pg_nodes(plan)
            assert not [n for n in nodes if "Sort" in n["Node Type"]], plan
            (scan,) = [n for n in nodes if n.get("Relation Name") == "conversations"]
            assert (scan["Node Type"], scan["Index Name"]) == ("Index Scan", "ix_conversations_activity"), (
                plan
            )
            assert scan["Scan Direction"] == "Backward"
            assert ("COALESCE" in scan["Index Cond"]) == (after is not None), plan


@pytest.mark.parametrize("after", [None, (110, "wamid.5")], ids=["first page", "later page"])
def test_a_message_page_is_an_index_range(filled: sa.Engine, after: tuple[int, str] | None) -> None:
    with filled.begin() as conn:
        plan = _plan(conn, queries.messages_page_query(1, limit=51, after=after))
        if conn.dialect.name == "sqlite":
            assert "TEMP B-TREE" not in plan, plan
            seek = "(conversation_id=? AND <expr>>?)" if after else "(conversation_id=?)"
            assert f"SEARCH messages USING INDEX ix_messages_timeline_at {seek}" in plan, plan
        else:
            nodes = _pg_nodes(plan)
            assert not [n for n in nodes if "Sort" in n["Node Type"]], plan
            (scan,) = [n for n in nodes if n.get("Relation Name") == "messages"]
            assert (scan["Node Type"], scan["Index Name"]) == ("Index Scan", "ix_messages_timeline_at"), plan
            assert ("COALESCE" in scan["Index Cond"]) == (after is not None), plan
