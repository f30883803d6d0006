"""A worker process killed in the middle of a receipt loses nothing and applies it once after restart."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import orjson

from tests import payloads as p
from tests.gateway import running_gateway

# Runs in a separate process: the real worker, with the ingest service wrapped so that the process
# dies (os._exit, no cleanup, like SIGKILL) after half of the receipt's facts were applied.
DYING_WORKER = textwrap.dedent("""
    import os, sys
    from wacoex.bootstrap import build
    from wacoex.config import Settings
    from wacoex.services.ingest import Ingest
    from wacoex.services.receipts import ReceiptProcessor, RetryPolicy
    from wacoex.store.engine import now_ms
    from wacoex.store.uow import sql_unit_of_work
    from wacoex.whatsapp.bodies import parse_bytes

    class DiesHalfway(Ingest):
        applied = 0

        def _apply_fact(self, run, fact):
            if DiesHalfway.applied == 20:
                os._exit(137)
            DiesHalfway.applied += 1
            super()._apply_fact(run, fact)

    c = build(Settings(database_url=sys.argv[1], dev=True, fetch_media=False), migrate=False)
    ingest = DiesHalfway(parse_bytes, fetch_media=False, clock=now_ms)
    ReceiptProcessor(sql_unit_of_work(c.engine), ingest, RetryPolicy(), now_ms).run_once(10)
    sys.exit(0)  # not reached
""")


def test_worker_killed_mid_receipt_applies_it_once_after_restart(db_url: str, tmp_path: Path) -> None:
    items = [
        {
            "from": f"1650555{i:04d}",
            "id": f"wamid.K{i}",
            "timestamp": "1760000000",
            "type": "text",
            "text": {"body": f"message {i}"},
        }
        for i in range(40)
    ]
    body = p.envelope("messages", {"messages": items})
    with running_gateway(db_url, tmp_path) as gw:
        gw.register()
        assert gw.post(orjson.dumps(body)).status_code == 200
        gw.container.engine.dispose()

        died = subprocess.run([sys.executable, "-c", DYING_WORKER, db_url], capture_output=True, timeout=120)
        assert died.returncode == 137, died.stderr.decode()[-2000:]

        # Nothing of the half-applied receipt is visible, and the receipt is still pending.
        assert gw.scalar("SELECT count(*) FROM messages") == 0
        assert gw.scalar("SELECT state FROM receipts") == "pending"

        result = gw.drain()  # the restarted worker
        assert result.done == 1
        assert gw.scalar("SELECT count(*) FROM messages") == 40
        assert gw.scalar("SELECT count(*) FROM events WHERE type = 'message.received'") == 40
        assert gw.scalar("SELECT attempts FROM receipts") == 1
        assert gw.drain().claimed == 0  # applied once, not again
