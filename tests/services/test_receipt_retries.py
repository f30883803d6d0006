"""A receipt that keeps failing is retried with backoff, then parked, never dropped; replay re-applies."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from tests import payloads as p
from tests.gateway import running_gateway
from wacoex.cli import app
from wacoex.services.ingest import Ingest
from wacoex.services.receipts import ReceiptProcessor, RetryPolicy
from wacoex.store.uow import sql_unit_of_work
from wacoex.whatsapp.bodies import parse_bytes


def test_failing_receipt_is_retried_then_parked_then_replayed(db_url: str, tmp_path: Path) -> None:
    calls = {"n": 0}

    def flaky_parse(raw: bytes, source: str) -> list[object]:  # a fake at the parser port
        calls["n"] += 1
        raise RuntimeError("database of facts unavailable")

    clock = {"now": 1_000_000}
    with running_gateway(db_url, tmp_path) as gw:
        gw.register()
        assert gw.post(orjson.dumps(p.inbound("wamid.F", "16505551234", 1_760_000_000))).status_code == 200
        processor = ReceiptProcessor(
            sql_unit_of_work(gw.container.engine),
            Ingest(flaky_parse, clock=lambda: clock["now"]),
            RetryPolicy(max_attempts=3, base_seconds=10),
            lambda: clock["now"],
        )
        assert processor.run_once().failed == 1
        assert processor.run_once().claimed == 0  # backing off: not due yet
        clock["now"] += 20_000
        assert processor.run_once().failed == 1
        clock["now"] += 40_000
        assert processor.run_once().parked == 1
        [parked] = gw.get("/api/v1/receipts", state="parked")["items"]
        assert parked["attempts"] == 3
        assert "database of facts unavailable" in parked["error"]
        assert gw.scalar("SELECT count(*) FROM messages") == 0

        # The fault is fixed; an operator replays parked receipts from the CLI.
        gw.container.engine.dispose()
        result = CliRunner().invoke(app, ["receipts", "replay", "--database-url", db_url])
        assert result.exit_code == 0, result.output
        assert "1 receipt(s) queued again" in result.output
        assert gw.scalar("SELECT count(*) FROM messages") == 1
        assert gw.scalar("SELECT state FROM receipts") == "done"

        # Replaying a done receipt changes nothing (idempotent).
        rid = gw.scalar("SELECT id FROM receipts")
        result = CliRunner().invoke(app, ["receipts", "replay", str(rid), "--database-url", db_url])
        assert result.exit_code == 0, result.output
        assert gw.scalar("SELECT count(*) FROM messages") == 1
        assert parse_bytes  # the real parser is what the CLI used


def test_cli_numbers_add_list_and_apikey(db_url: str) -> None:
    runner = CliRunner()
    args = ["--database-url", db_url]
    r = runner.invoke(
        app,
        [
            "numbers",
            "add",
            "--phone-number-id",
            "123",
            "--display-phone-number",
            "+1 555 0100",
            "--waba-id",
            "9",
            "--provider",
            "360dialog",
            "--coexistence",
            *args,
        ],
    )
    assert r.exit_code == 0, r.output
    again = runner.invoke(
        app,
        [
            "numbers",
            "add",
            "--phone-number-id",
            "123",
            "--display-phone-number",
            "15550100",
            "--waba-id",
            "9",
            *args,
        ],
    )
    assert again.exit_code == 1
    assert "already registered" in again.output
    bad = runner.invoke(
        app,
        [
            "numbers",
            "add",
            "--phone-number-id",
            "124",
            "--display-phone-number",
            "15550101",
            "--waba-id",
            "9",
            "--provider",
            "twilio",
            *args,
        ],
    )
    assert bad.exit_code == 2  # a bad option value, like Typer's own usage errors
    assert bad.output == "error: provider must be 'meta' or '360dialog', not 'twilio'\n"
    listed = runner.invoke(app, ["numbers", "list", *args])
    assert "123" in listed.output
    assert "360dialog" in listed.output
    key = runner.invoke(app, ["apikeys", "create", "--name", "crm", *args])
    assert key.exit_code == 0
    assert key.output.startswith("wcx_")
