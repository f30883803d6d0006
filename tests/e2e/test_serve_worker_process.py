"""`wacoex serve` applies receipts in a `wacoex worker` child: restarted when it dies, ended with serve."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
import sqlalchemy as sa

from tests import payloads as p
from tests.gateway import APP_SECRET
from tests.servers import WACOEX, env_for, free_port, register_business
from wacoex.store.engine import make_engine
from wacoex.whatsapp.signature import sign_hub

pytestmark = pytest.mark.e2e


def _children(pid: int) -> list[int]:
    """Live child processes of `pid` (from /proc/*/stat: field 4 is the parent)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return sorted(found)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait(done: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.1)


def _messages(db_url: str) -> int:
    engine = make_engine(db_url, read_only=True)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM messages")).scalar() or 0)
    finally:
        engine.dispose()


def _post(url: str, n: int) -> None:
    body = orjson.dumps(p.inbound(f"wamid.S{n}", "16505550001", 1760000000 + n))
    r = httpx.post(
        f"{url}/webhooks/whatsapp", content=body, headers={"x-hub-signature-256": sign_hub(body, APP_SECRET)}
    )
    assert r.status_code == 200


def test_the_worker_child_applies_is_restarted_and_ends_with_serve(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'wacoex.db'}"
    register_business(db_url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [WACOEX, "serve", "--dev", "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            cmd, env=env_for(db_url, tmp_path), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        _wait(lambda: _children(serve.pid) != [], "the worker child started")
        [worker] = _children(serve.pid)
        _wait(lambda: _up(url), "serve answers")

        _post(url, 1)
        _wait(lambda: _messages(db_url) == 1, "applied by the child")

        os.kill(worker, signal.SIGKILL)  # the worker dies: serve starts another
        _wait(lambda: _children(serve.pid) not in ([], [worker]), "a new worker child", timeout=30)
        _post(url, 2)
        _wait(lambda: _messages(db_url) == 2, "applied by the restarted child")

        [worker] = _children(serve.pid)
        serve.kill()  # serve dies without a chance to stop it: the worker notices and exits
        serve.wait()
        _wait(lambda: not _alive(worker), "the orphaned worker exited", timeout=30)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
    assert "restarting" in log.read_text()


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
