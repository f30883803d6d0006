"""A gateway under test: the real app over an in-process ASGI client, with the worker drained on demand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient

from wacoex.bootstrap import Container, build, token_cipher
from wacoex.config import Settings
from wacoex.services.receipts import BatchResult
from wacoex.store.numbers import add_number
from wacoex.web.app import create_app, serving_app
from wacoex.whatsapp.signature import sign_hub

APP_SECRET = "test-app-secret"
ADMIN_KEY = "test-admin-key"
BUSINESS = {
    "phone_number_id": "106540352242922",
    "display_phone_number": "15550783881",
    "waba_id": "102290129340398",
}


class Gateway:
    def __init__(self, container: Container, client: TestClient) -> None:
        self.container = container
        self.client = client
        self.auth = {"Authorization": f"Bearer {ADMIN_KEY}"}

    def register(self, **kw: Any) -> None:
        values = {**BUSINESS, "provider": "meta", "coexistence": True, **kw}
        with self.container.engine.begin() as conn:
            add_number(conn, cipher=token_cipher(self.container.settings), **values)

    def post(
        self,
        body: dict[str, Any] | bytes,
        *,
        secret: str = APP_SECRET,
        path: str = "/webhooks/whatsapp",
        headers: dict[str, str] | None = None,
    ) -> Any:
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        h = {
            "content-type": "application/json",
            "x-hub-signature-256": sign_hub(raw, secret),
            **(headers or {}),
        }
        return self.client.post(path, content=raw, headers=h)

    def deliver(self, body: dict[str, Any] | bytes, **kw: Any) -> BatchResult:
        response = self.post(body, **kw)
        assert response.status_code == 200, response.text
        return self.drain()

    def drain(self) -> BatchResult:
        return self.container.processor.drain()

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, headers=self.auth, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def conversations(self, pnid: str = BUSINESS["phone_number_id"]) -> list[dict[str, Any]]:
        return self.get(f"/api/v1/numbers/{pnid}/conversations", limit=500)["items"]  # type: ignore[no-any-return]

    def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        return self.get(f"/api/v1/conversations/{conversation_id}/messages", limit=500)["items"]  # type: ignore[no-any-return]

    def all_messages(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for conv in self.conversations():
            out.extend(self.messages(conv["id"]))
        return out

    def scalar(self, sql: str) -> Any:
        import sqlalchemy as sa

        with self.container.engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar()


@contextmanager
def running_gateway(db_url: str, tmp_path: Path, **overrides: Any) -> Iterator[Gateway]:
    values: dict[str, Any] = {
        "database_url": db_url,
        "app_secrets": [APP_SECRET],
        "admin_api_key": ADMIN_KEY,
        "verify_token": "vt-123",
        "media_dir": tmp_path / "media",
        "fetch_media": False,
        "dev": True,
        "retry_base_seconds": 0.0,
    }
    settings = Settings(**{**values, **overrides})
    container = build(settings, migrate=False)
    app = create_app(container=container, run_worker=False)
    try:
        with TestClient(serving_app(app)) as client:  # as `wacoex serve` serves it
            yield Gateway(container, client)
    finally:
        container.dispose()
