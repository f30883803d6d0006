"""History import: a million `history` messages in ~3 MB webhooks, posted, stored, then applied.

    .venv/bin/python benchmarks/bench_history.py [--messages 1000000] [--per-webhook 3000]
                                                 [--threads 2000] [--webhook-mb 3.0]

1. POST + store: the webhooks are generated (phases 2, 1, 0 — chunks of each phase out of order —
   over `--threads` chats, texts, images and media placeholders, text bodies padded so a webhook of
   `--per-webhook` messages is about `--webhook-mb` MB) and POSTed, signed, to `wacoex serve
   --no-worker` on 127.0.0.1, which stores each as one receipt before answering.
2. Apply: the server is stopped and a fresh process applies every receipt with
   `container.processor.drain()`, reporting seconds and its peak RSS (VmHWM).
Both steps check their counts: receipts stored == webhooks acked, messages imported == messages sent.
"""

from __future__ import annotations

import argparse
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import common
import httpx
import orjson

TARGET_SECONDS = 60.0
TARGET_RSS_MB = 500.0
DAY = 86_400
DAY0 = 1_760_000_000  # onboarding time
PHASES = ((2, 0.45, 90 * DAY, 180 * DAY), (1, 0.50, DAY, 90 * DAY), (0, 0.05, 0, DAY))


def _message(n: int, thread: str, ts: int, pad: str) -> dict[str, Any]:
    outbound = n % 2 == 1
    item: dict[str, Any] = {
        "from": common.BUSINESS if outbound else thread,
        "id": common.wamid("HI", n),
        "timestamp": str(ts),
        "history_context": {"status": ("READ", "DELIVERED", "PLAYED")[n % 3] if outbound else "READ"},
    }
    kind = n % 20
    if kind == 7:
        item["type"] = "media_placeholder"
    elif kind == 13:
        item["type"] = "image"
        item["image"] = {
            "caption": "Black Prince echeveria, 10 cm pot",
            "mime_type": "image/jpeg",
            "sha256": "3f9d94d399fa61c191bc1d4ca71375a035cd9b9f5b1128e1f0963a415c16b0cc",
            "id": str(24230790383178626 + n),
        }
    else:
        item["type"] = "text"
        item["text"] = {"body": f"Message {n}: thanks for your order! " + pad[: 40 + (n * 37) % len(pad)]}
    return item


def webhooks(messages: int, per_webhook: int, threads: int, webhook_mb: float) -> Iterator[tuple[bytes, int]]:
    """(body, messages in it) for the whole history, phase by phase, chunks of a phase out of order."""
    # A message is about 200 bytes besides its text; 90% are texts of 75 + len(pad)/2 characters.
    target_per_message = webhook_mb * 1_000_000 / per_webhook
    pad_len = max(20, int(2 * ((target_per_message - 200) / 0.9 - 75)))
    pad = ("Our opening hours are 9 to 5 on weekdays and 10 to 2 on Saturdays. " * 200)[:pad_len]
    customers = [common.customer(1_000_000 + t) for t in range(threads)]
    n = 0
    for phase, share, newest, oldest in PHASES:
        count = round(messages * share) if phase else messages - n
        # Each thread gets an equal slice of this phase's messages, spread over the phase's days.
        per_thread = [count // threads + (1 if t < count % threads else 0) for t in range(threads)]
        chunks: list[list[tuple[str, list[dict[str, Any]]]]] = []
        current: list[tuple[str, list[dict[str, Any]]]] = []
        room = per_webhook
        for t, k in enumerate(per_thread):
            step = (oldest - newest) // max(k, 1)
            items = [_message(n + i, customers[t], DAY0 - oldest + i * step, pad) for i in range(k)]
            n += k
            while items:
                take, items = items[:room], items[room:]
                current.append((customers[t], take))
                room -= len(take)
                if room == 0:
                    chunks.append(current)
                    current, room = [], per_webhook
        if current:
            chunks.append(current)
        order = list(range(len(chunks)))
        order = order[1::2] + order[0::2]  # "chunks may not be delivered sequentially"
        for sent, index in enumerate(order, 1):
            progress = (
                round(100 * sent / len(order)) if phase == 0 else min(99, round(100 * sent / len(order)))
            )
            history = {
                "metadata": {"phase": phase, "chunk_order": index + 1, "progress": progress},
                "threads": [{"id": tid, "messages": msgs} for tid, msgs in chunks[index]],
            }
            value = {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": common.BUSINESS, "phone_number_id": common.PNID},
                "history": [history],
            }
            body = {
                "object": "whatsapp_business_account",
                "entry": [{"id": common.WABA, "changes": [{"value": value, "field": "history"}]}],
            }
            yield orjson.dumps(body), sum(len(m) for _, m in chunks[index])


def post_all(port: int, args: argparse.Namespace) -> dict[str, Any]:
    """Generate and POST every webhook; generation runs in a thread so it overlaps the POSTs."""
    pending: queue.Queue[tuple[bytes, int] | None] = queue.Queue(maxsize=4)

    def produce() -> None:
        for item in webhooks(args.messages, args.per_webhook, args.threads, args.webhook_mb):
            pending.put(item)
        pending.put(None)

    threading.Thread(target=produce, daemon=True).start()
    acked = sent = messages = size = 0
    biggest = 0
    post_seconds = 0.0
    start = time.perf_counter()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        while (item := pending.get()) is not None:
            body, count = item
            headers = {"content-type": "application/json", "x-hub-signature-256": common.sign(body)}
            t0 = time.perf_counter()
            response = client.post("/webhooks/whatsapp", content=body, headers=headers)
            post_seconds += time.perf_counter() - t0
            sent += 1
            size += len(body)
            biggest = max(biggest, len(body))
            if response.status_code == 200:
                acked += 1
                messages += count
    return {
        "webhooks": sent,
        "acked": acked,
        "messages": messages,
        "mb": size / 1e6,
        "biggest_mb": biggest / 1e6,
        "wall_seconds": time.perf_counter() - start,
        "post_seconds": post_seconds,
    }


def apply_in_child(db_url: str) -> dict[str, Any]:
    """Apply every stored receipt in a fresh process; returns its timing, counts and peak RSS."""
    out = subprocess.run(
        [common.PYTHON, __file__, "--apply-only", db_url], capture_output=True, timeout=1800, check=False
    )
    if out.returncode:
        raise RuntimeError(f"apply failed:\n{out.stderr.decode()[-3000:]}")
    return dict(json.loads(out.stdout))


def _apply_only(db_url: str) -> None:
    from wacoex.bootstrap import build
    from wacoex.config import Settings

    settings = Settings(database_url=db_url, app_secrets=[common.APP_SECRET], fetch_media=False, dev=True)
    container = build(settings, migrate=False)
    rss_before = common.peak_rss_mb()
    start = time.perf_counter()
    outcome = container.processor.drain(limit=settings.worker_batch)
    seconds = time.perf_counter() - start
    with container.engine.connect() as conn:
        import sqlalchemy as sa

        messages = conn.execute(sa.text("SELECT count(*) FROM messages")).scalar_one()
        phases = conn.execute(
            sa.text("SELECT phase, messages_imported, progress FROM history_phases ORDER BY phase")
        ).all()
    container.dispose()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "done": outcome.done,
                "parked": outcome.parked,
                "failed": outcome.failed,
                "messages": int(messages),
                "phases": [list(p) for p in phases],
                "peak_rss_mb": common.peak_rss_mb(),
                "rss_at_start_mb": rss_before,
            }
        )
    )


def run(args: argparse.Namespace) -> common.Results:
    results = common.Results()
    with common.workdir() as work:
        with common.wacoex_server(work, worker=False) as (server, db_url):
            posted = post_all(server.port, args)
            server_rss = common.peak_rss_mb(server.pid)
        applied = apply_in_child(db_url)
    total = posted["wall_seconds"] + applied["seconds"]
    results.add(
        f"History POST+store ({posted['webhooks']} webhooks, {posted['mb']:,.0f} MB)",
        f"{posted['wall_seconds']:.1f} s ({posted['post_seconds']:.1f} s waiting for 200s)",
    )
    results.add(
        f"History apply ({applied['messages']:,} messages)",
        f"{applied['seconds']:.1f} s ({posted['messages'] / applied['seconds']:,.0f} messages/s)",
        f"<= {TARGET_SECONDS:.0f} s",
        applied["seconds"] <= TARGET_SECONDS,
    )
    results.add("History POST+store+apply", f"{total:.1f} s")
    results.add(
        "History apply peak RSS",
        f"{applied['peak_rss_mb']:,.0f} MB (server while storing: {server_rss:,.0f} MB)",
        f"<= {TARGET_RSS_MB:.0f} MB",
        applied["peak_rss_mb"] <= TARGET_RSS_MB,
    )
    ok = posted["acked"] == posted["webhooks"] and applied["messages"] == posted["messages"]
    results.notes.append(
        f"history: {posted['acked']}/{posted['webhooks']} webhooks acked "
        f"(largest {posted['biggest_mb']:.2f} MB), {applied['done']} receipts applied "
        f"({applied['parked']} parked), {applied['messages']:,} of {posted['messages']:,} messages "
        f"imported; per phase (phase, imported, progress): {applied['phases']}"
        + ("" if ok else " -- WRONG RESULT")
    )
    results.data["history"] = {"posted": posted, "applied": applied}
    return results


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--messages", type=int, default=1_000_000, help="history messages in total")
    parser.add_argument("--per-webhook", type=int, default=3_000, help="messages in one webhook")
    parser.add_argument("--threads", type=int, default=2_000, help="chats (threads[].id)")
    parser.add_argument("--webhook-mb", type=float, default=3.0, help="approximate size of one webhook")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--apply-only":
        _apply_only(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser)
    run(parser.parse_args()).print()


if __name__ == "__main__":
    main()
