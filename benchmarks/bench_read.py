"""Read API: server time of a first and a deep page of the conversation list and of a timeline.

    .venv/bin/python benchmarks/bench_read.py [--conversations 10000,100000]
                                              [--messages 100000,1000000] [--requests 25]
                                              [--dir /tmp/wacoex-bench-read] [--json out.json]

Builds one SQLite file (cached in `--dir`, per schema revision) with a number per list size holding
that many conversations, and one conversation per timeline size holding that many messages, written
with direct `executemany` inserts. Then the app from `create_app` answers in-process
(`httpx.ASGITransport`) `GET /api/v1/numbers/{pnid}/conversations` and
`GET /api/v1/conversations/{id}/messages` (limit 50): the first page, and a page 90 % deep whose
cursor is built from the row at that position. The server time is measured around the ASGI call (from
the request reaching the app to its last body byte), after 3 warm-up requests; the median and p90
of `--requests` requests are reported. Every answer is checked: 200 and 50 items.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import common
import httpx
import orjson

TARGET_MS = 5.0
LIMIT = 50
T0 = 1_739_000_000_000  # ms


def _head() -> str:
    from alembic.script import ScriptDirectory

    from wacoex.store.engine import alembic_config

    return str(ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head())


def build(path: Path, conversations: list[int], messages: list[int]) -> dict[str, Any]:
    """The database: a number with n conversations per list size, a conversation per timeline size."""
    from wacoex.store.engine import upgrade

    started = time.perf_counter()
    upgrade(f"sqlite:///{path}")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    pnids = {n: f"bench-c{n}" for n in conversations}
    all_numbers = [*pnids.values(), "bench-timelines"]
    db.executemany(
        "INSERT INTO numbers (phone_number_id, display_phone_number, waba_id, provider, coexistence, state,"
        " history_state, created_at, updated_at) VALUES (?, ?, 'w', 'meta', 1, 'connected', 'none', 0, 0)",
        [(p, f"1555{i:07d}") for i, p in enumerate(all_numbers)],
    )
    number_id = dict(db.execute("SELECT phone_number_id, id FROM numbers"))
    # (number, count) of conversations to create; timelines get one conversation each.
    plan = [(number_id[pnids[n]], n) for n in conversations] + [(number_id["bench-timelines"], len(messages))]
    k = 0
    for num, count in plan:
        db.executemany(
            "INSERT INTO contacts (number_id, wa_id, phone_key, profile_name, book_removed, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
            [
                (num, f"1650{k + i:07d}", f"1650{k + i:07d}", f"Customer {k + i}", T0, T0)
                for i in range(count)
            ],
        )
        first = db.execute("SELECT max(id) FROM contacts").fetchone()[0] - count + 1
        # Activity times spread over a year, a few conversations without messages (NULL).
        rows = [
            (
                num,
                first + i,
                None if i % 97 == 0 else T0 + (i * 7_919 % count) * 300_000,
                T0 + i,
                i % 5,
                10 + i % 40,
                i % 3,
                T0,
            )
            for i in range(count)
        ]
        db.executemany(
            "INSERT INTO conversations (number_id, contact_id, last_message_at, last_customer_at,"
            " unread_count, message_count, history_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        k += count
    timeline_conv = [
        int(r[0])
        for r in db.execute(
            "SELECT id FROM conversations WHERE number_id = ? ORDER BY id", (number_id["bench-timelines"],)
        )
    ]
    timelines: dict[int, int] = {}
    tl_number = number_id["bench-timelines"]
    for size, conv in zip(messages, timeline_conv, strict=True):
        timelines[size] = conv
        batch: list[tuple[Any, ...]] = []
        for i in range(size):
            text = f"Hi! Is order #{i} ready for pickup? I can come by the shop after 5pm today."
            batch.append(
                (
                    tl_number,
                    conv,
                    f"wamid.HBgL{conv:04d}{i:09d}",
                    "inbound" if i % 3 else "outbound",
                    "customer" if i % 3 else "business_app",
                    "text",
                    orjson.dumps({"body": text}).decode(),
                    text,
                    None if i % 101 == 0 else T0 + i * 1000,
                    T0 + i * 1000 + 500,
                    "read",
                    T0 + i * 1000 + 900,
                )
            )
            if len(batch) == 50_000 or i == size - 1:
                db.executemany(
                    "INSERT INTO messages (number_id, conversation_id, wamid, direction, origin, type,"
                    " content, text, occurred_at, received_at, status, status_at, edited, revoked,"
                    " placeholder) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0)",
                    batch,
                )
                batch = []
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    meta = {
        "pnids": {str(n): p for n, p in pnids.items()},
        "timelines": {str(n): c for n, c in timelines.items()},
    }
    meta["build_seconds"] = round(time.perf_counter() - started, 1)
    path.with_suffix(".json").write_text(json.dumps(meta))
    return meta


def deep_cursors(path: Path, meta: dict[str, Any]) -> dict[str, str]:
    """Cursors naming the row 90 % down each list, as the API itself would encode them."""
    from wacoex.web.api.cursor import BY_TIME_ID, BY_TIME_WAMID

    db = sqlite3.connect(path)
    out: dict[str, str] = {}
    for n, pnid in meta["pnids"].items():
        at, cid = db.execute(
            "SELECT coalesce(c.last_message_at, 0), c.id FROM conversations c JOIN numbers n"
            " ON n.id = c.number_id WHERE n.phone_number_id = ?"
            " ORDER BY coalesce(c.last_message_at, 0) DESC, c.id DESC LIMIT 1 OFFSET ?",
            (pnid, int(n) * 9 // 10),
        ).fetchone()
        out[f"c{n}"] = BY_TIME_ID.encode(at, cid)
    for n, conv in meta["timelines"].items():
        at, wamid = db.execute(
            "SELECT coalesce(occurred_at, received_at), wamid FROM messages WHERE conversation_id = ?"
            " ORDER BY coalesce(occurred_at, received_at), wamid LIMIT 1 OFFSET ?",
            (conv, int(n) * 9 // 10),
        ).fetchone()
        out[f"m{n}"] = BY_TIME_WAMID.encode(at, wamid)
    db.close()
    return out


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class Timed:
    """An ASGI wrapper that records how long the app took for each request, first byte in to last out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.times: list[float] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.times.append((time.perf_counter() - started) * 1000)


async def measure(app: Timed, path: str, params: dict[str, str], n: int) -> dict[str, float]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {common.ADMIN_KEY}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(3):
            await client.get(path, params=params, headers=headers)
        app.times.clear()
        for _ in range(n):
            r = await client.get(path, params=params, headers=headers)
            assert r.status_code == 200, r.text[:300]
            assert len(r.json()["items"]) == LIMIT, path
    times = sorted(app.times)
    return {
        "median_ms": round(statistics.median(times), 2),
        "p90_ms": round(times[int(len(times) * 0.9) - 1], 2),
        "n": len(times),
    }


def run(args: argparse.Namespace) -> common.Results:
    from wacoex.config import Settings
    from wacoex.web.app import create_app

    conversations = [int(x) for x in args.conversations.split(",") if x]
    messages = [int(x) for x in args.messages.split(",") if x]
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    tag = f"{_head()}-c{'_'.join(map(str, conversations))}-m{'_'.join(map(str, messages))}"
    path = work / f"read-{tag}.db"
    if path.exists() and path.with_suffix(".json").exists():
        meta = json.loads(path.with_suffix(".json").read_text())
    else:
        path.unlink(missing_ok=True)
        meta = build(path, conversations, messages)
    cursors = deep_cursors(path, meta)
    settings = Settings(
        database_url=f"sqlite:///{path}",
        admin_api_key=common.ADMIN_KEY,
        app_secrets=[common.APP_SECRET],
        verify_token=common.VERIFY_TOKEN,
        media_dir=work / "media",
        fetch_media=False,
        dev=True,
    )
    app = create_app(settings, run_worker=False)
    timed = Timed(app)
    results = common.Results()
    data: dict[str, Any] = {"machine": common.machine(), "build_seconds": meta.get("build_seconds")}

    async def go() -> None:
        limit = {"limit": str(LIMIT)}
        cases = [
            (f"conversations, {n:,}", f"/api/v1/numbers/{meta['pnids'][str(n)]}/conversations", f"c{n}")
            for n in conversations
        ] + [
            (
                f"messages, {n:,} in the conversation",
                f"/api/v1/conversations/{meta['timelines'][str(n)]}/messages",
                f"m{n}",
            )
            for n in messages
        ]
        for name, url, key in cases:
            for page, params in (("first page", limit), ("page at 90 %", {**limit, "cursor": cursors[key]})):
                got = await measure(timed, url, params, args.requests)
                data[f"{name}, {page}"] = got
                results.add(
                    f"Read API: {name}, {page}",
                    f"{got['median_ms']:.2f} ms median (p90 {got['p90_ms']:.2f})",
                    f"<= {TARGET_MS:.0f} ms",
                    got["median_ms"] <= TARGET_MS,
                )

    try:
        asyncio.run(go())
    finally:
        app.state.container.dispose()
    results.notes.append(f"machine: {data['machine']}")
    results.data["read"] = data
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=2))
    return results


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conversations", default="10000,100000", help="list sizes, comma-separated")
    parser.add_argument("--messages", default="100000,1000000", help="timeline sizes, comma-separated")
    parser.add_argument("--requests", type=int, default=25, help="measured requests per page")
    parser.add_argument("--dir", default="/tmp/wacoex-bench-read", help="where the database is cached")
    parser.add_argument("--json", default="", help="also write the figures to this file")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser)
    run(parser.parse_args()).print()


if __name__ == "__main__":
    main()
