"""A gateway served as `wacoex serve` serves it: uvicorn on 127.0.0.1, the webhook ingress in front."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn

from tests import payloads as p
from tests.gateway import ADMIN_KEY, APP_SECRET, BUSINESS
from wacoex.bootstrap import Container, build
from wacoex.config import Settings
from wacoex.store.numbers import add_number
from wacoex.web.app import create_app, serving_app
from wacoex.whatsapp.signature import sign_hub

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


@dataclass
class Served:
    url: str
    container: Container
    http: httpx.Client

    def webhook(self, body: dict[str, Any] | bytes) -> None:
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        signature = {"x-hub-signature-256": sign_hub(raw, APP_SECRET)}
        r = self.http.post("/webhooks/whatsapp", content=raw, headers=signature)
        assert r.status_code == 200, r.text

    def seed(self) -> dict[str, Any]:
        """A registered number, three customers with live messages, an echo, history, an unknown
        field, a parked receipt and a stored media file; returns the ids a test can aim at."""
        with self.container.engine.begin() as conn:
            add_number(conn, **BUSINESS, provider="meta", coexistence=True)
        t = 1_760_000_000
        for i, customer in enumerate(("16505551234", "16505551235", "16505551236")):
            for j in range(3):
                self.webhook(p.inbound(f"wamid.in{i}{j}", customer, t + 10 * i + j, f"hello {j}"))
        self.webhook(p.echo("wamid.echo1", "16505551234", t + 5))
        self.webhook(p.status("wamid.api1", "delivered", t + 6))
        thread = {"id": "16505551234", "messages": [p.hmsg("wamid.h1", "16505551234", t - 99)]}
        self.webhook(p.history(0, 1, 100, [thread]))
        self.webhook(p.envelope("phone_number_quality_update", {"event": "FLAGGED"}))
        self.webhook(b"{not json")
        self.container.processor.drain()
        sha256 = self.container.media_store.save(b"\x89PNG fake image", "image/png")
        return {"sha256": sha256}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served_gateway(db_url: str, tmp_path: Path, **overrides: Any) -> Iterator[Served]:
    """The gateway on a loopback socket (worker not running: tests drain it), stopped when the block ends."""
    settings = Settings(
        **{
            "database_url": db_url,
            "app_secrets": [APP_SECRET],
            "admin_api_key": ADMIN_KEY,
            "verify_token": "vt-123",
            "media_dir": tmp_path / "media",
            "fetch_media": False,
            "dev": True,
            "retry_base_seconds": 0.0,
            **overrides,
        }
    )
    container = build(settings, migrate=False)
    app = serving_app(create_app(container=container, run_worker=False))
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=30) as http:
            yield Served(url, container, http)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        container.dispose()
