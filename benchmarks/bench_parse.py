"""Parse throughput of `history` webhooks: messages/s for a synthetic 3 MB payload.

    .venv/bin/python benchmarks/bench_parse.py [--messages 1000000] [--per-webhook 10000]

Builds one history webhook as Meta would send it (~3 MB, ~10,000 messages in threads of 20), then
parses it repeatedly until the requested number of messages has been parsed, timing
`parse_bytes` (orjson decode + facts) and `parse_meta` (facts from an already decoded body).
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any

import orjson

from wacoex.domain.facts import HistoryChunk
from wacoex.whatsapp.bodies import parse_bytes
from wacoex.whatsapp.envelope import parse_meta

BUSINESS = "15550783881"


def history_webhook(messages: int, per_thread: int = 20) -> dict[str, Any]:
    """One `history` webhook holding `messages` messages (text, images, media placeholders)."""
    threads = []
    n = 0
    while n < messages:
        customer = f"1650{len(threads):07d}"
        items = []
        for _ in range(min(per_thread, messages - n)):
            sender = BUSINESS if n % 2 else customer
            item: dict[str, Any] = {
                "from": sender,
                "id": f"wamid.HBgLMTY0NjcwNDM1OTUVAgARGBIy{n:012d}QUQ4NDc0N0FCNjMA",
                "timestamp": str(1739230955 + n),
                "history_context": {"status": "READ" if n % 3 else "DELIVERED"},
            }
            if n % 10 == 7:
                item["type"] = "media_placeholder"
            elif n % 10 == 9:
                item["type"] = "image"
                item["image"] = {
                    "caption": "Black Prince echeveria",
                    "mime_type": "image/jpeg",
                    "sha256": "3f9d94d399fa61c191bc1d4ca71375a035cd9b9f5b1128e1f0963a415c16b0cc",
                    "id": f"{24230790383178626 + n}",
                }
            else:
                item["type"] = "text"
                body = f"Message {n}: thanks for your order! See you on Tuesday at the shop on Main St."
                body += " Parking is free after six."
                item["text"] = {"body": body}
            items.append(item)
            n += 1
        threads.append({"id": customer, "messages": items})
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": BUSINESS, "phone_number_id": "106540352242922"},
        "history": [{"metadata": {"phase": 1, "chunk_order": 1, "progress": 40}, "threads": threads}],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "history"}]}],
    }


def _count(facts: list[Any]) -> int:
    return sum(len(f.messages) for f in facts if isinstance(f, HistoryChunk))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="total history messages to parse")
    parser.add_argument("--per-webhook", type=int, default=10_000, help="messages in one webhook")
    args = parser.parse_args()

    body = history_webhook(args.per_webhook)
    raw = orjson.dumps(body)
    rounds = max(1, args.messages // args.per_webhook)
    total = rounds * args.per_webhook
    size = len(raw) / 1e6
    print(f"webhook: {size:.2f} MB, {args.per_webhook} messages; {rounds} webhooks = {total} messages")
    assert _count(parse_meta(body)) == args.per_webhook

    gc.collect()
    start = time.perf_counter()
    for _ in range(rounds):
        orjson.loads(raw)
    decode = time.perf_counter() - start

    start = time.perf_counter()
    for _ in range(rounds):
        parse_meta(body)
    facts = time.perf_counter() - start

    start = time.perf_counter()
    for _ in range(rounds):
        parse_bytes(raw, "meta")
    both = time.perf_counter() - start

    print(f"orjson decode only      {decode:6.2f} s  {total / decode:>12,.0f} messages/s")
    print(f"parse_meta (dict)       {facts:6.2f} s  {total / facts:>12,.0f} messages/s")
    print(f"parse_bytes (bytes)     {both:6.2f} s  {total / both:>12,.0f} messages/s")


if __name__ == "__main__":
    main()
