"""Several `wacoex worker` processes on PostgreSQL never move a status backwards nor record it twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from tests import payloads as p
from tests.conftest import truncate_all
from tests.gateway import running_gateway
from wacoex.domain.enums import STATUS_RANK, MessageStatus
from wacoex.store.receipts import append

pytestmark = pytest.mark.postgres

SENT = 2_000  # messages already at `sent` before the race
UNSEEN = 500  # messages whose first status races to create their placeholder
GROUP = 25  # messages per receipt, all to one recipient


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("_postgres_database")
    truncate_all(url)
    return url


def _statuses(group: tuple[str, list[str]], status: str, ts: int) -> bytes:
    recipient, wamids = group
    body = p.status("x", status, ts)
    body["entry"][0]["changes"][0]["value"]["statuses"] = [
        {"id": w, "status": status, "timestamp": str(ts), "recipient_id": recipient} for w in wamids
    ]
    return orjson.dumps(body)


def test_workers_racing_on_statuses_end_at_the_highest_with_one_event_each(
    pg_url: str, tmp_path: Path
) -> None:
    rng = random.Random(7)
    with running_gateway(pg_url, tmp_path) as gw:
        gw.register()
        sent = [f"wamid.C{i}" for i in range(SENT)]
        unseen = [f"wamid.U{i}" for i in range(UNSEEN)]
        # One recipient per group of messages: the receipts that race share its contact and
        # conversation. A group of unseen messages goes to the recipient of a group already sent to, so
        # nothing serialises the workers before they both look for a placeholder that is not there.
        chunks = [ws[i : i + GROUP] for ws in (sent, unseen) for i in range(0, len(ws), GROUP)]
        groups = [(f"1650555{n % (SENT // GROUP):04d}", chunk) for n, chunk in enumerate(chunks)]
        with gw.container.engine.begin() as conn:
            append(conn, [("meta", _statuses(g, "sent", 1_760_000_000), 0) for g in groups[: SENT // GROUP]])
        gw.drain()
        assert gw.scalar("SELECT count(*) FROM messages WHERE status = 'sent'") == SENT

        # For each group, a `delivered` receipt and a `read` receipt side by side in the queue, in
        # random order: two workers claim them at the same moment (one receipt per claim) and walk
        # the same messages in the same order, one reading a status the other is about to change.
        race: list[bytes] = []
        for group in rng.sample(groups, len(groups)):
            pair = [_statuses(group, "delivered", 1_760_000_100), _statuses(group, "read", 1_760_000_200)]
            rng.shuffle(pair)
            race.extend(pair)
        with gw.container.engine.begin() as conn:
            append(conn, [("meta", body, 0) for body in race])

        env = {
            **os.environ,
            "WACOEX_DATABASE_URL": pg_url,
            "WACOEX_FETCH_MEDIA": "false",
            "WACOEX_WORKER_BATCH": "1",  # one receipt per claim: the most interleaving
            "WACOEX_RETRY_BASE_SECONDS": "0",
            # Whole receipts per transaction: with the default budget (100 ms) the worker behind on
            # the same rows gets one unit per transaction and the race takes five times as long.
            "WACOEX_APPLY_LOCK_BUDGET_MS": "60000",
        }
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "wacoex", "worker"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(3)
        ]
        try:
            deadline = time.monotonic() + 180
            while gw.scalar("SELECT count(*) FROM receipts WHERE state <> 'done'"):
                assert time.monotonic() < deadline, "workers did not drain the queue"
                assert all(w.poll() is None for w in workers), "a worker died"
                time.sleep(0.2)
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            errors = [w.communicate(timeout=30)[1].decode() for w in workers]
        assert [w.returncode for w in workers] == [0, 0, 0], errors

        with gw.container.engine.connect() as conn:
            statuses = Counter(
                s for (s,) in conn.execute(sa.text("SELECT status FROM messages WHERE origin = 'api'"))
            )
            events = conn.execute(
                sa.text("SELECT message_id, payload FROM events WHERE type = 'message.status' ORDER BY id")
            ).all()
            in_conversation = dict(
                conn.execute(sa.text("SELECT conversation_id, count(*) FROM messages GROUP BY 1")).all()
            )
        per_message: dict[int, list[int]] = defaultdict(list)
        for message_id, payload in events:
            per_message[message_id].append(STATUS_RANK[MessageStatus(payload["status"])])
        read = STATUS_RANK[MessageStatus.READ]
        problems = {
            "not read": sum(n for status, n in statuses.items() if status != "read"),
            "a status event recorded twice": sum(len(set(s)) != len(s) for s in per_message.values()),
            "events going backwards": sum(s != sorted(s) for s in per_message.values()),
            "no read event": SENT + UNSEEN - sum(s[-1:] == [read] for s in per_message.values()),
            # a placeholder created (and counted in its conversation) twice, or a receipt that failed
            "conversations not counting their messages once": sum(
                c["counts"]["messages"] != in_conversation[c["id"]] for c in gw.conversations()
            ),
            "receipts applied more than once": gw.scalar("SELECT count(*) FROM receipts WHERE attempts > 1"),
        }
        assert problems == dict.fromkeys(problems, 0), f"messages: {SENT + UNSEEN}"
        assert sum(statuses.values()) == SENT + UNSEEN
        assert gw.scalar("SELECT count(*) FROM contacts") == SENT // GROUP
