"""CPU per request of wacoex's HTTP limits: uvicorn's httptools protocol against wacoex's, in one process.

    .venv/bin/python benchmarks/bench_http_limits.py [--requests 20000] [--rounds 5]

Both protocols are fed the same signed single-message webhook POST, one read per request on one
keep-alive connection (as `bench_ack.py`'s load generator sends them), and run the same minimal
ASGI app (read the body, answer 200); only the protocol class differs. What is measured is CPU
time (`time.process_time`), not wall time, so other load on the machine matters less than for
`bench_ack.py`; rounds alternate between the two protocols and the best round of each is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import common
import uvloop
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from wacoex.config import Settings
from wacoex.web.http_limits import HttpLimits, protocol_class


class _Transport(asyncio.Transport):
    """Sets `answered` at the second write of each answer (head, then body); enough for uvicorn."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.closed = False
        self.answered = asyncio.Event()

    def write(self, data: Any) -> None:
        self.writes += 1
        if self.writes % 2 == 0:
            self.answered.set()

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"15")]})
    await send({"type": "http.response.body", "body": b'{"status":"ok"}'})


def _request() -> bytes:
    body = common.single_message_webhook(1)
    head = (
        "POST /webhooks/whatsapp HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-type: application/json\r\n"
        f"x-hub-signature-256: {common.sign(body)}\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _cpu_per_request(cls: type[HttpToolsProtocol], raw: bytes, n: int) -> float:
    config = Config(_app, http=cls, ws="none", lifespan="off", log_config=None, access_log=False)
    config.load()
    proto = cls(config=config, server_state=ServerState(), app_state={})
    transport = _Transport()
    proto.connection_made(transport)
    start = time.process_time()
    for _ in range(n):
        proto.data_received(raw)
        await transport.answered.wait()
        transport.answered.clear()
    cpu = time.process_time() - start
    proto.connection_lost(None)
    return cpu / n * 1e6


def run(args: argparse.Namespace) -> common.Results:
    limited = protocol_class(HttpLimits.from_settings(Settings()))
    raw = _request()
    best: dict[str, float] = {}
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_cpu_per_request(limited, raw, 1000))  # warm-up
        for _ in range(args.rounds):
            for name, cls in (("uvicorn", HttpToolsProtocol), ("wacoex", limited)):
                us = runner.run(_cpu_per_request(cls, raw, args.requests))
                best[name] = min(best.get(name, us), us)
    results = common.Results()
    results.add("Protocol CPU per webhook POST, uvicorn's HttpToolsProtocol", f"{best['uvicorn']:.1f} µs")
    results.add("Protocol CPU per webhook POST, with wacoex's HTTP limits", f"{best['wacoex']:.1f} µs")
    results.add("Cost of the limits per request", f"{best['wacoex'] - best['uvicorn']:+.1f} µs")
    results.notes.append(
        f"{len(raw)}-byte signed webhook POST, {args.requests:,} requests per round, best of "
        f"{args.rounds} alternating rounds; a minimal ASGI app (no signature check, no database)"
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per protocol")
    run(parser.parse_args()).print()


if __name__ == "__main__":
    main()
