"""Over real sockets: one huge signed webhook neither stops acknowledgements nor a worker's shutdown.

The body of 1,150,000 empty `entry` objects (3.45 MB, under the 3.5 MB limit) once held SQLite's
write lock for 213 s and made every other webhook fail; now it is parsed outside the lock, its
unreadable parts are stored up to the cap, and every webhook sent meanwhile is answered and stored.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
import sqlalchemy as sa

from tests import payloads as p
from tests.gateway import ADMIN_KEY, APP_SECRET
from tests.servers import WACOEX, env_for, register_business, stop, wacoex_serve
from wacoex.store.engine import make_engine
from wacoex.store.receipts import append
from wacoex.whatsapp.signature import sign_hub

pytestmark = pytest.mark.e2e

EMPTY_ENTRIES = 1_150_000


def _hostile_body() -> bytes:
    return b'{"object":"whatsapp_business_account","entry":[' + b",".join([b"{}"] * EMPTY_ENTRIES) + b"]}"


def _scalar(db_url: str, sql: str) -> object:
    # Read-only: on SQLite a reader that asked for the write lock would wait behind the worker.
    engine = make_engine(db_url, read_only=True)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar()
    finally:
        engine.dispose()


def _wait(done: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"not done after {timeout} s"
        time.sleep(0.05)


def test_a_million_empty_entries_never_stop_other_webhooks(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'wacoex.db'}"
    register_business(db_url)
    env = env_for(db_url, tmp_path)
    hostile = _hostile_body()
    assert len(hostile) < 3_500_000
    with wacoex_serve(env, tmp_path / "serve.log") as url, httpx.Client(base_url=url, timeout=60) as http:
        r = http.post(
            "/webhooks/whatsapp",
            content=hostile,
            headers={"x-hub-signature-256": sign_hub(hostile, APP_SECRET)},
        )
        assert r.status_code == 200, r.text
        # Keep sending ordinary webhooks while the huge one is parsed and applied.
        answers: list[int] = []
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < 4 or n < 100:
            body = orjson.dumps(p.inbound(f"wamid.N{n}", f"1650555{n % 1000:04d}", 1760000000 + n))
            headers = {"x-hub-signature-256": sign_hub(body, APP_SECRET)}
            answers.append(http.post("/webhooks/whatsapp", content=body, headers=headers).status_code)
            n += 1
        assert answers == [200] * n
        # Everything acknowledged is stored, and everything stored gets applied.
        deadline = time.monotonic() + 120
        while _scalar(db_url, "SELECT count(*) FROM receipts WHERE state <> 'done'") != 0:
            assert time.monotonic() < deadline, "receipts still pending after 120 s"
            time.sleep(0.2)
        assert _scalar(db_url, "SELECT count(*) FROM receipts") == n + 1
        assert _scalar(db_url, "SELECT count(*) FROM messages") == n
        # 100 unreadable parts stored one by one, the rest counted in one more row.
        assert _scalar(db_url, "SELECT count(*) FROM unknown_items") == 101
        unknown = http.get("/api/v1/unknown", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).json()
        assert unknown["items"][0]["raw"] == {"not_stored": EMPTY_ENTRIES - 100}


def test_a_worker_stops_promptly_in_the_middle_of_a_large_webhook(db_url: str, tmp_path: Path) -> None:
    register_business(db_url)
    items = [
        {
            "from": f"1650555{i % 2000:04d}",
            "id": f"wamid.B{i}",
            "timestamp": str(1760000000 + i),
            "type": "text",
            "text": {"body": f"message {i}"},
        }
        for i in range(6000)
    ]
    body = orjson.dumps(p.envelope("messages", {"messages": items}))
    engine = make_engine(db_url)
    with engine.begin() as conn:
        append(conn, [("meta", body, 0)])
    engine.dispose()

    env = env_for(db_url, tmp_path)
    with (tmp_path / "worker.log").open("wb") as out:
        worker = subprocess.Popen(
            [WACOEX, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        _wait(lambda: bool(_scalar(db_url, "SELECT count(*) FROM messages")), worker, tmp_path / "worker.log")
        asked = time.monotonic()
        stop(worker, timeout=30)
        took = time.monotonic() - asked
    finally:
        stop(worker, timeout=5)
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()
    assert took < 15, f"the worker took {took:.1f} s to stop"
    applied = _scalar(db_url, "SELECT count(*) FROM messages")
    assert isinstance(applied, int)
    assert 0 < applied < 6000  # it stopped in the middle of the receipt ...
    assert _scalar(db_url, "SELECT state FROM receipts") == "pending"
    assert _scalar(db_url, "SELECT progress FROM receipts") == applied  # ... and knows where

    # A worker started again finishes the receipt: every message once, every event once.
    with (tmp_path / "worker2.log").open("wb") as out:
        worker = subprocess.Popen(
            [WACOEX, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        _wait(
            lambda: _scalar(db_url, "SELECT state FROM receipts") == "done", worker, tmp_path / "worker2.log"
        )
    finally:
        stop(worker)
    assert _scalar(db_url, "SELECT count(*) FROM messages") == 6000
    assert _scalar(db_url, "SELECT count(*) FROM events WHERE type = 'message.received'") == 6000
