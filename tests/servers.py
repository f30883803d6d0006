"""`wacoex serve` and `wacoex worker` as real processes for tests over real sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.gateway import ADMIN_KEY, APP_SECRET, BUSINESS
from wacoex.store.engine import make_engine, upgrade
from wacoex.store.numbers import add_number

WACOEX = str(Path(sys.executable).parent / "wacoex")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(db_url: str, workdir: Path, **settings: str) -> dict[str, str]:
    """The environment of a gateway process: our test secrets, no media fetching, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WACOEX_")}
    env.update(
        WACOEX_DATABASE_URL=db_url,
        WACOEX_APP_SECRETS=APP_SECRET,
        WACOEX_VERIFY_TOKEN="test-verify-token-0123456789",
        WACOEX_ADMIN_API_KEY=ADMIN_KEY,
        WACOEX_MEDIA_DIR=str(workdir / "media"),
        WACOEX_FETCH_MEDIA="false",
    )
    env.update({f"WACOEX_{k.upper()}": v for k, v in settings.items()})
    return env


def register_business(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        add_number(conn, **BUSINESS, provider="meta", coexistence=True)
    engine.dispose()


def stop(proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """SIGINT (a graceful stop), then SIGKILL if it does not exit in `timeout` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def wacoex_serve(env: dict[str, str], log: Path, *args: str) -> Iterator[str]:
    """`wacoex serve` on a free loopback port; yields its base URL once /healthz answers."""
    port = free_port()
    cmd = [WACOEX, "serve", "--dev", "--host", "127.0.0.1", "--port", str(port), *args]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"wacoex serve exited early:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"wacoex serve did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield url
    finally:
        stop(proc)
