"""Apply throughput: stored receipts turned into the unified record, in message facts per second.

    .venv/bin/python benchmarks/bench_apply.py [--receipts 20000] [--contacts 5000] [--profile]

Stores `--receipts` webhooks as receipts with the store's own `append` (what the ingress does), then
times `container.processor.drain()`, the worker's loop. Each receipt is one webhook batching three
changes as Meta can: three customer messages from three contacts (`messages`), two delivery
statuses for earlier echoes (`messages`, `statuses[]`), and one message typed on the phone
(`smb_message_echoes`): six message facts, over a pool of contacts so conversations are reused.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import sys
import time
from pathlib import Path
from typing import Any

import common
import orjson

TARGET_FACTS = 10_000.0


def _echo_to(k: int, pool: int) -> str:
    return common.customer(k * 31 % pool)


def batch_webhook(k: int, pool: int) -> tuple[bytes, int]:
    """Receipt number `k`: its body and how many message facts it holds."""
    ts = 1739230955 + k
    senders = [common.customer((3 * k + j) * 7919 % pool) for j in range(3)]
    inbound = {
        "contacts": [
            {"profile": {"name": f"Customer {s[-4:]}"}, "wa_id": s, "user_id": common.bsuid(s)}
            for s in senders
        ],
        "messages": [common.inbound_message(3 * k + j, s, ts) for j, s in enumerate(senders)],
    }
    statuses = [
        {
            "id": common.wamid("EC", k - back),
            "status": status,
            "timestamp": str(ts),
            "recipient_id": _echo_to(k - back, pool),
            "conversation": {"id": f"c{k - back}", "origin": {"type": "service"}},
            "pricing": {
                "billable": False,
                "pricing_model": "PMP",
                "category": "service",
                "type": "free_customer_service",
            },
        }
        for back, status in ((1, "delivered"), (2, "read"))
        if k - back >= 0
    ]
    echo = {
        "from": common.BUSINESS,
        "to": _echo_to(k, pool),
        "id": common.wamid("EC", k),
        "timestamp": str(ts),
        "type": "text",
        "text": {"body": f"Yes, order #{k} is ready. See you at 5!"},
    }
    meta = {"display_phone_number": common.BUSINESS, "phone_number_id": common.PNID}

    def change(field: str, value: dict[str, Any]) -> dict[str, Any]:
        return {"field": field, "value": {"messaging_product": "whatsapp", "metadata": meta, **value}}

    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": common.WABA,
                "time": ts,
                "changes": [
                    change("messages", inbound),
                    change("messages", {"statuses": statuses}),
                    change("smb_message_echoes", {"message_echoes": [echo]}),
                ],
            }
        ],
    }
    return orjson.dumps(body), 3 + len(statuses) + 1


def build_container(work: Path) -> Any:
    from wacoex.bootstrap import build
    from wacoex.config import Settings

    db_url = f"sqlite:///{work / 'wacoex.db'}"
    common.prepare_database(db_url)
    settings = Settings(
        database_url=db_url,
        app_secrets=[common.APP_SECRET],
        verify_token=common.VERIFY_TOKEN,
        admin_api_key=common.ADMIN_KEY,
        media_dir=work / "media",
        fetch_media=False,
    )
    return build(settings, migrate=False)


def store_receipts(engine: Any, bodies: list[bytes]) -> None:
    from wacoex.store.engine import now_ms
    from wacoex.store.receipts import append

    for i in range(0, len(bodies), 1000):
        with engine.begin() as conn:
            append(conn, [("meta", b, now_ms()) for b in bodies[i : i + 1000]])


def count(engine: Any, sql: str) -> int:
    import sqlalchemy as sa

    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def run(args: argparse.Namespace) -> common.Results:
    results = common.Results()
    with common.workdir() as work:
        container = build_container(work)
        built = [batch_webhook(k, args.contacts) for k in range(args.receipts)]
        facts = sum(n for _, n in built)
        store_receipts(container.engine, [b for b, _ in built])
        del built
        # A receipt that fails is logged at WARNING on every attempt; the counts below say it once.
        logging.getLogger("wacoex").setLevel(logging.ERROR)
        profiler = cProfile.Profile() if args.profile else None
        meter = common.CpuMeter()
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        outcome = container.processor.drain(limit=container.settings.worker_batch)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - start
        ours, other = meter.stop()
        messages = count(container.engine, "SELECT count(*) FROM messages")
        done = count(container.engine, "SELECT count(*) FROM receipts WHERE state = 'done'")
        conversations = count(container.engine, "SELECT count(*) FROM conversations")
        container.dispose()
    rate = facts / seconds
    results.add(
        f"Apply throughput ({args.receipts:,} receipts)",
        f"{rate:,.0f} message facts/s ({facts:,} in {seconds:.1f} s)",
        f">= {TARGET_FACTS:,.0f}/s",
        rate >= TARGET_FACTS,
    )
    expected = 4 * args.receipts
    results.notes.append(
        f"apply: {done:,}/{args.receipts:,} receipts done "
        f"({outcome.parked} parked, {outcome.failed} failed), "
        f"{messages:,} messages (expected {expected:,}), {conversations:,} conversations; "
        f"{ours:.2f} cores ours, {other:.2f} cores other processes"
    )
    if done != args.receipts or messages != expected:
        results.notes.append("apply: WRONG RESULT, see the counts above")
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(25)
    results.data["apply"] = {"facts": facts, "seconds": seconds, "rate": rate}
    return results


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--receipts", type=int, default=20_000, help="receipts to store, then apply")
    parser.add_argument("--contacts", type=int, default=5_000, help="distinct customers")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the apply to stderr")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser)
    run(parser.parse_args()).print()


if __name__ == "__main__":
    main()
