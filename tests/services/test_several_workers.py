"""Several `wacoex worker` processes share one queue: every receipt applied exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from tests import payloads as p
from tests.gateway import running_gateway


def test_three_worker_processes_apply_every_receipt_once(db_url: str, tmp_path: Path) -> None:
    with running_gateway(db_url, tmp_path) as gw:
        gw.register()
        for i in range(150):
            body = p.inbound(f"wamid.W{i}", f"1650555{i % 40:04d}", 1_760_000_000 + i, f"message {i}")
            body["entry"][0]["changes"].append(
                p.status(f"wamid.S{i}", "delivered", 1_760_000_000 + i)["entry"][0]["changes"][0]
            )
            assert gw.post(orjson.dumps(body)).status_code == 200
        env = {
            **os.environ,
            "WACOEX_DATABASE_URL": db_url,
            "WACOEX_FETCH_MEDIA": "false",
            "WACOEX_WORKER_BATCH": "5",
        }
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "wacoex", "worker"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(3)
        ]
        try:
            # Every worker is up (its banner printed, its signal handlers in place) before any is
            # stopped: a process killed while Python is still importing never ran our code at all.
            for w in workers:
                assert w.stdout is not None
                assert b"wacoex worker on" in w.stdout.readline()
            deadline = time.monotonic() + 90
            while gw.scalar("SELECT count(*) FROM receipts WHERE state = 'done'") < 150:
                assert time.monotonic() < deadline, "workers did not drain the queue"
                assert all(w.poll() is None for w in workers), "a worker died"
                time.sleep(0.2)
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            errors = [w.communicate(timeout=30)[1].decode() for w in workers]
        assert [w.returncode for w in workers] == [0, 0, 0], errors
        assert gw.scalar("SELECT count(*) FROM messages WHERE origin = 'customer'") == 150
        assert gw.scalar("SELECT count(*) FROM events WHERE type = 'message.received'") == 150
        assert gw.scalar("SELECT count(*) FROM events WHERE type = 'message.status'") == 150
        assert gw.scalar("SELECT max(attempts) FROM receipts") == 1
        assert gw.scalar("SELECT count(*) FROM contacts") == 41  # 40 senders + the statuses' recipient
