"""Fixtures for the emulator's platform tests: an in-process emulator and a webhook receiver.

The emulator runs on a frozen virtual clock and without its background runner, so every delivery
happens when a test flushes or advances the clock; the dispatcher posts over an ASGI transport into
the receiver app, which records the exact bytes and headers and answers with scripted status codes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from wacoex.emulator.app import create_app
from wacoex.emulator.client import EmulatorClient
from wacoex.emulator.clock import Clock
from wacoex.emulator.runtime import Runtime
from wacoex.emulator.world import World, WorldConfig

START = 1_800_000_000.0
TOKEN = "emulator-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BUSINESS_NUMBER = "15550783881"
CUSTOMER = "16505551234"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """Records webhook POSTs; answers ``answers`` in order (then 200); echoes GET handshakes."""

    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    verify_token: str = "vt"
    handshakes: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/{path:path}")
        async def record(request: Request, path: str) -> Response:
            self.received.append(Received("/" + path, dict(request.headers), await request.body()))
            return Response("ok", status_code=self.answers.pop(0) if self.answers else 200)

        @app.get("/{path:path}")
        async def handshake(request: Request, path: str) -> Response:
            params = dict(request.query_params)
            self.handshakes.append(params)
            if params.get("hub.verify_token") != self.verify_token:
                return Response("forbidden", status_code=403)
            return Response(params.get("hub.challenge", ""), media_type="text/plain")

        return app

    def values(self, field_name: str) -> list[dict[str, Any]]:
        """Every ``changes[].value`` of that field in the Meta envelopes received so far."""
        out = []
        for item in self.received:
            body = item.json
            for entry in body.get("entry", []):
                for change in entry["changes"]:
                    if change["field"] == field_name:
                        out.append(change["value"])
        return out

    def statuses(self) -> list[dict[str, Any]]:
        return [s for v in self.values("messages") for s in v.get("statuses", [])]


@dataclass
class Emu:
    http: httpx.AsyncClient
    control: EmulatorClient
    runtime: Runtime
    receiver: Receiver

    @property
    def world(self) -> World:
        return self.runtime.world

    async def graph(self, method: str, path: str, *, version: str = "v23.0", **kwargs: Any) -> httpx.Response:
        headers = {**AUTH, **kwargs.pop("headers", {})}
        return await self.http.request(method, f"/{version}{path}", headers=headers, **kwargs)

    async def send(self, pnid: str, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        body = {"messaging_product": "whatsapp", "to": CUSTOMER, **payload}
        return await self.graph("POST", f"/{pnid}/messages", json=body, **kwargs)

    async def text(self, pnid: str, body: str = "hi", to: str = CUSTOMER) -> httpx.Response:
        return await self.send(pnid, {"to": to, "type": "text", "text": {"body": body}})

    async def coex_number(self, display: str = BUSINESS_NUMBER, **fields: Any) -> str:
        number = await self.control.create_number(display_phone_number=display, onboarded=True, **fields)
        return str(number["phone_number_id"])

    async def customer_writes(
        self, pnid: str, wa_id: str = CUSTOMER, text: str = "hello", **extra: Any
    ) -> str:
        if wa_id not in self.world.customers:
            await self.control.create_customer(wa_id, "Sheena Nelson")
        result = await self.control.customer_send(
            wa_id, to=pnid, type="text", content={"body": text}, **extra
        )
        return str(result["wamid"])


def error_code(response: httpx.Response) -> int:
    return int(response.json()["error"]["code"])


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def world() -> World:
    config = WorldConfig(
        webhook_url="http://receiver/meta",
        d360_partner_webhook_url="http://receiver/partner",
        d360_partner_secret="partner-secret",
    )
    return World(config, clock=Clock(START, frozen=True))


@pytest.fixture
async def emu(world: World, receiver: Receiver) -> AsyncIterator[Emu]:
    hooks = httpx.AsyncClient(transport=httpx.ASGITransport(receiver.app()), base_url="http://receiver")
    app = create_app(world, background=False, webhook_client=hooks)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://emulator") as http:
        yield Emu(http, EmulatorClient(http), app.state.runtime, receiver)
    await hooks.aclose()


# -- real sockets ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 in a thread until the block ends; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
