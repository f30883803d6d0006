"""Emulator benchmark: webhooks emitted and delivered per second, and a 1,000,000-message history
export generated and delivered to a minimal loopback HTTP receiver (127.0.0.1).

    .venv/bin/python benchmarks/bench_emulator.py [--webhooks 5000] [--messages 1000000]

Prints the machine and the figures as a markdown block for docs/benchmarks.md ("## Emulator").
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import time
from dataclasses import dataclass
from typing import Any

import httpx

from wacoex.emulator.clock import Clock
from wacoex.emulator.people import customers
from wacoex.emulator.platform import history_export
from wacoex.emulator.platform.history_export import HistoryOptions, Thread
from wacoex.emulator.runtime import Runtime
from wacoex.emulator.world import World, WorldConfig

START = 1_780_000_000.0
DAY = 86_400.0


@dataclass(slots=True)
class Item:
    """A stored message as the history export reads it (lighter than a full ChatMessage)."""

    wamid: str
    direction: str
    type: str
    content: Any
    timestamp: float
    status: str


class Receiver:
    """The smallest HTTP/1.1 server that reads a request and answers 200 (keep-alive)."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/webhook"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                self.requests += 1
                self.bytes += length
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionResetError, asyncio.CancelledError):
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = "unknown"
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            kib = int(fh.readline().split()[1])
            ram = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "ram": ram,
        "python": platform.python_version(),
    }


def make_runtime(url: str) -> Runtime:
    runtime = Runtime(World(WorldConfig(webhook_url=url, max_log=200), clock=Clock(START, frozen=True)))
    runtime.dispatcher.client = httpx.AsyncClient(limits=httpx.Limits(max_connections=1))
    return runtime


async def bench_webhooks(url: str, count: int) -> dict[str, float]:
    """Customer messages on an onboarded number: emit + sign + POST + 200, one webhook each."""
    runtime = make_runtime(url)
    world = runtime.world
    number = world.add_number("15550783881", onboarded=True, verified_name="Bench Bakery")
    for i in range(100):
        world.add_customer(f"1650555{i:04d}", f"Customer {i}")
    started = time.perf_counter()
    for i in range(count):
        customers.send(
            runtime, f"1650555{i % 100:04d}", number.phone_number_id, type="text", content=f"order {i}"
        )
        if i % 50 == 49:
            await world.clock.settle()
    await world.clock.settle()
    elapsed = time.perf_counter() - started
    delivered = len(runtime.dispatcher.deliveries(state="delivered"))
    await runtime.dispatcher.close()
    return {"webhooks": count, "seconds": elapsed, "per_second": count / elapsed, "last_delivered": delivered}


def threads(messages: int, chats: int = 2000) -> list[Thread]:
    per_chat = messages // chats
    found = []
    for c in range(chats):
        items = []
        for i in range(per_chat):
            age = 179.9 * DAY * (per_chat - i) / per_chat
            media = i % 10 == 0
            items.append(
                Item(
                    wamid=f"wamid.bench.{c}.{i}",
                    direction="outbound" if i % 2 else "inbound",
                    type="image" if media else "text",
                    content={"id": f"{c}{i}", "mime_type": "image/jpeg", "sha256": "0" * 64}
                    if media
                    else {"body": f"Message {i} in chat {c}: is the sourdough ready?"},
                    timestamp=START - age,
                    status="read",
                )
            )
        found.append(Thread(f"1650{c:07d}", items))
    return found


async def bench_history(url: str, messages: int) -> dict[str, float]:
    runtime = make_runtime(url)
    world = runtime.world
    number = world.add_number("15550783881", onboarded=True, verified_name="Bench Bakery")
    built = time.perf_counter()
    data = threads(messages)
    build_s = time.perf_counter() - built
    started = time.perf_counter()
    generated = 0
    for _field, _value in history_export.history_webhooks(
        data,
        display_phone_number=number.display_phone_number,
        phone_number_id=number.phone_number_id,
        onboarded_at=START,
        options=HistoryOptions(seed=1),
    ):
        generated += 1
    generate_s = time.perf_counter() - started
    started = time.perf_counter()
    webhooks = chunks = exported = 0
    for field, value in history_export.history_webhooks(
        data,
        display_phone_number=number.display_phone_number,
        phone_number_id=number.phone_number_id,
        onboarded_at=START,
        options=HistoryOptions(seed=1),
    ):
        runtime.emit(number.phone_number_id, field, value)
        webhooks += 1
        for chunk in value.get("history", []):
            chunks += 1
            exported += sum(len(t["messages"]) for t in chunk["threads"])
        await world.clock.settle()
    deliver_s = time.perf_counter() - started
    deliveries = runtime.dispatcher.deliveries
    failed = len(deliveries(state="failed")) + len(deliveries(state="retrying"))
    await runtime.dispatcher.close()
    return {
        "messages": exported,
        "chunks": chunks,
        "webhooks": webhooks,
        "build_s": build_s,
        "generate_s": generate_s,
        "generate_per_s": exported / generate_s,
        "deliver_s": deliver_s,
        "deliver_per_s": exported / deliver_s,
        "failed": failed,
        "generated": generated,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--webhooks", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    receiver = Receiver()
    url = await receiver.start()
    try:
        hooks = await bench_webhooks(url, args.webhooks)
        history = await bench_history(url, args.messages)
    finally:
        await receiver.stop()
    info = machine()
    print("## Emulator")
    print()
    print(f"Run {info['date']} on {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM,")
    print(f"Python {info['python']}; `.venv/bin/python benchmarks/bench_emulator.py`,")
    print("receiver: a minimal HTTP/1.1 server on 127.0.0.1.")
    print()
    print("| Benchmark | Figure |")
    print("|---|---|")
    print(
        f"| Customer messages -> `messages` webhooks (emit, sign, POST, 200) | "
        f"{hooks['per_second']:,.0f} webhooks/s ({hooks['webhooks']:,} in {hooks['seconds']:.2f} s) |"
    )
    print(
        f"| History export, generation only ({history['messages']:,} messages, "
        f"{history['chunks']} chunks <= 3 MB) | "
        f"{history['generate_s']:.1f} s ({history['generate_per_s']:,.0f} messages/s) |"
    )
    print(
        f"| History export generated and delivered ({history['webhooks']:,} webhooks incl. media follow-ups, "
        f"{int(history['failed'])} failed) | "
        f"{history['deliver_s']:.1f} s ({history['deliver_per_s']:,.0f} messages/s) |"
    )
    print(f"| Receiver totals | {receiver.requests:,} requests, {receiver.bytes / 1e6:,.0f} MB |")


if __name__ == "__main__":
    asyncio.run(main())
