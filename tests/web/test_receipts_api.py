"""The receipts API refuses what the store refuses: an unknown state, an unknown id."""

from __future__ import annotations

from pathlib import Path

from tests.gateway import running_gateway


def test_an_unknown_state_or_receipt_is_an_error_not_an_empty_answer(db_url: str, tmp_path: Path) -> None:
    with running_gateway(db_url, tmp_path) as gw:
        bogus = gw.client.get("/api/v1/receipts", params={"state": "bogus"}, headers=gw.auth)
        assert bogus.status_code == 422
        assert bogus.json()["error"]["code"] == "invalid_input"
        expected = "state: Input should be 'pending', 'done', 'held' or 'parked'"
        assert bogus.json()["error"]["message"] == expected
        missing = gw.client.post("/api/v1/receipts/999/replay", headers=gw.auth)
        assert missing.status_code == 404
        assert missing.json()["error"]["message"] == "receipt 999 does not exist"
