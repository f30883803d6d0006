"""The wiring: `build` returns services and loops that nothing runs until an entrypoint starts them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from tests import payloads as p
from tests.gateway import ADMIN_KEY, APP_SECRET, BUSINESS
from wacoex.bootstrap import Container, build
from wacoex.config import Settings
from wacoex.store.numbers import add_number
from wacoex.web.app import create_app, serving_app
from wacoex.whatsapp.signature import sign_hub


def _settings(db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "app_secrets": [APP_SECRET],
        "admin_api_key": ADMIN_KEY,
        "verify_token": "vt-123",
        "media_dir": tmp_path / "media",
        "fetch_media": False,
        "dev": True,
    }
    return Settings(**{**values, **overrides})


@contextmanager
def _container(settings: Settings, provider_transport: Any = None) -> Iterator[Container]:
    container = build(settings, migrate=False, provider_transport=provider_transport)
    try:
        yield container
    finally:
        container.dispose()


def _post(client: TestClient, wamid: str) -> None:
    body = orjson.dumps(p.inbound(wamid, "16505550001", 1_760_000_000, "hello"))
    response = client.post(
        "/webhooks/whatsapp", content=body, headers={"x-hub-signature-256": sign_hub(body, APP_SECRET)}
    )
    assert response.status_code == 200


def _until(done: Callable[[], bool], what: str, timeout: float) -> float:
    began = time.monotonic()
    while not done():
        assert time.monotonic() - began < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.02)
    return time.monotonic() - began


def _texts(c: Container) -> list[str]:
    import sqlalchemy as sa

    with c.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT text FROM messages ORDER BY id")).scalars())


def _register(c: Container) -> None:
    with c.engine.begin() as conn:
        add_number(conn, **BUSINESS, provider="meta", coexistence=True)


def test_build_starts_no_thread(db_url: str, tmp_path: Path) -> None:
    with _container(_settings(db_url, tmp_path, fetch_media=True)) as c:
        assert [loop.name for loop in c.workers] == ["receipts", "media"]
        assert not any(loop.running for loop in c.workers)


def test_an_app_running_its_worker_applies_what_it_stores_and_stops_its_loops(
    db_url: str, tmp_path: Path
) -> None:
    with _container(_settings(db_url, tmp_path)) as c:
        _register(c)
        with TestClient(serving_app(create_app(container=c, run_worker=True))) as client:
            assert all(loop.running for loop in c.workers)
            _post(client, "wamid.B1")
            _until(lambda: _texts(c) == ["hello"], "applied by the app's own worker", timeout=10)
        assert not any(loop.running for loop in c.workers)


@pytest.mark.postgres
def test_a_webhook_stored_by_the_web_process_wakes_a_worker_elsewhere_before_its_poll(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from tests.conftest import truncate_all

    url: str = request.getfixturevalue("_postgres_database")
    truncate_all(url)
    poll = 5.0
    # Two containers, two engines: `wacoex serve --no-worker` and a `wacoex worker` elsewhere.
    with (
        _container(_settings(url, tmp_path)) as web,
        _container(_settings(url, tmp_path, worker_poll_seconds=poll)) as worker,
    ):
        _register(web)
        worker.workers.start()
        [receipts] = [loop for loop in worker.workers if loop.name == "receipts"]
        _until(lambda: receipts.rounds >= 1, "the worker's first round", timeout=10)
        time.sleep(0.3)  # idle now: its next poll is about 5 s away
        with TestClient(serving_app(create_app(container=web, run_worker=False))) as client:
            began = time.monotonic()
            _post(client, "wamid.B2")
            _until(lambda: _texts(web) == ["hello"], "applied by the other worker", timeout=poll)
            assert time.monotonic() - began < poll - 1.0


def test_the_container_sends_through_one_provider_on_the_configured_transport(
    db_url: str, tmp_path: Path
) -> None:
    """The provider built from the settings: their base URL and timeouts, the transport given."""
    import httpx

    from wacoex.services.ports import NumberRef

    seen: list[httpx.Request] = []

    def graph(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"contacts": [], "messages": [{"id": "wamid.OUT"}]})

    settings = _settings(db_url, tmp_path, graph_base_url="http://graph.test/v99.0")
    with _container(settings, httpx.MockTransport(graph)) as c:
        number = NumberRef(
            id=1,
            phone_number_id="106540352242922",
            display_phone_number="15550783881",
            waba_id="1",
            provider="meta",
            coexistence=True,
            state="connected",
            state_changed_at=None,
            access_token="tok",
        )
        body = {"messaging_product": "whatsapp", "to": "16505550001", "type": "text", "text": {"body": "hi"}}
        assert c.provider.send_message(number, body).wamid == "wamid.OUT"
        assert c.throttle.acquire("106540352242922", 20.0, "16505550001", max_wait=0.0).waited < 0.5
    [request] = seen
    assert str(request.url) == "http://graph.test/v99.0/106540352242922/messages"
    assert request.headers["authorization"] == "Bearer tok"
