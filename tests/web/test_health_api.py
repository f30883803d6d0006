"""GET /api/v1/numbers/{phone_number_id}/health over loopback: the state explained, the last webhook,
the phone's heartbeat and the countdown to the inactivity cut, history, and the open alerts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests import payloads as p
from tests.web.served import AUTH, Served, served_gateway
from wacoex.store.numbers import add_number

HEALTH = f"/api/v1/numbers/{p.PNID}/health"
DAY = 86_400
C1 = "16505551234"


def _register(gw: Served, *, coexistence: bool = True) -> None:
    with gw.container.engine.begin() as conn:
        add_number(
            conn,
            phone_number_id=p.PNID,
            display_phone_number=p.BIZ,
            waba_id=p.WABA,
            provider="meta",
            coexistence=coexistence,
        )


def _health(gw: Served, key_headers: dict[str, str] = AUTH) -> dict[str, Any]:
    r = gw.http.get(HEALTH, headers=key_headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_the_heartbeat_counts_down_from_the_newest_sign_of_life_and_warns_from_day_10(
    db_url: str, tmp_path: Path
) -> None:
    with served_gateway(db_url, tmp_path) as gw:
        _register(gw)
        now = int(time.time())
        # registered just now: the owner was using the app then
        fresh = _health(gw)
        assert fresh["heartbeat"]["source"] == "connected"
        assert fresh["heartbeat"]["warning"] is False
        assert fresh["last_webhook_at"] is None
        # the phone's address book changed 12 days ago, the owner wrote from the phone 11 days ago:
        # pretend the number was onboarded long before
        with gw.container.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE numbers SET created_at = 0")
        gw.webhook(p.state_sync(p.book(C1, now - 12 * DAY)))
        gw.webhook(p.echo("wamid.E1", C1, now - 11 * DAY))
        gw.container.processor.drain()
        h = _health(gw)
        beat = h["heartbeat"]
        assert beat["source"] == "echo"
        assert 10.9 < beat["days_since"] < 11.1
        assert 1.9 < beat["days_left"] < 2.1
        assert beat["warning"] is True
        assert "ask the owner to open the WhatsApp Business app within 2.0 days" in beat["explained"]
        assert h["last_webhook_at"] is not None  # received just now
        assert h["state"] == "connected"
        assert h["can_send"] is True
        assert h["state_explained"].startswith("Connected to the Cloud API")
        assert h["alerts"] == []


def test_a_disconnection_shows_its_reason_and_an_open_alert(db_url: str, tmp_path: Path) -> None:
    with served_gateway(db_url, tmp_path) as gw:
        _register(gw)
        removed = {
            "phone_number": p.BIZ,
            "event": "PARTNER_REMOVED",
            "disconnection_info": {"reason": "PRIMARY_INACTIVITY", "initiated_by": "SYSTEM"},
        }
        gw.webhook(p.envelope("account_update", removed, time=1_760_000_000))
        gw.webhook(
            p.envelope(
                "account_update",
                {"phone_number": p.BIZ, "event": "PARTNER_APP_UNINSTALLED"},
                time=1_760_000_001,
            )
        )
        gw.container.processor.drain()
        h = _health(gw)
        assert (h["state"], h["state_reason"], h["can_send"]) == ("disconnected", "PRIMARY_INACTIVITY", False)
        assert "was not opened for about 14 days (initiated by WhatsApp)" in h["state_explained"]
        assert h["heartbeat"]["days_left"] is None  # no countdown while disconnected
        assert [(a["kind"], a["severity"], a["event"]) for a in h["alerts"]] == [
            ("partner_app", "critical", "PARTNER_APP_UNINSTALLED"),
            ("connection", "critical", "PARTNER_REMOVED"),
        ]
        assert h["alerts"][1]["details"]["disconnection_info"]["reason"] == "PRIMARY_INACTIVITY"
        assert h["alerts"][1]["opened_at"] == "2025-10-09T08:53:20Z"
        # reconnected: the connection alert is resolved, the other stays
        gw.webhook(
            p.envelope(
                "account_update", {"phone_number": p.BIZ, "event": "ACCOUNT_RECONNECTED"}, time=1_760_000_100
            )
        )
        gw.container.processor.drain()
        h = _health(gw)
        assert h["state"] == "connected"
        assert [a["kind"] for a in h["alerts"]] == ["partner_app"]
        assert h["heartbeat"]["source"] == "connected"


def test_history_and_a_number_without_the_app_rule(db_url: str, tmp_path: Path) -> None:
    with served_gateway(db_url, tmp_path) as gw:
        _register(gw, coexistence=False)
        thread = {"id": C1, "messages": [p.hmsg("wamid.h1", C1, 1_700_000_000)]}
        gw.webhook(p.history(0, 1, 100, [thread]))
        gw.container.processor.drain()
        h = _health(gw)
        assert h["history"] == {
            "state": "complete",
            "explained": "The app's chat history was imported.",
            "progress": 100,
            "messages_imported": 1,
        }
        assert h["heartbeat"]["days_left"] is None
        assert h["heartbeat"]["warning"] is False


def test_another_workspace_and_unknown_numbers_are_not_found(db_url: str, tmp_path: Path) -> None:
    with served_gateway(db_url, tmp_path) as gw:
        _register(gw)
        gw.container.admin.add_workspace("acme")
        _, key = gw.container.admin.create_api_key("acme reader", workspace="acme", role="read-only")
        r = gw.http.get(HEALTH, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 404
        assert r.json()["error"]["message"] == f"number {p.PNID} is not registered"
        assert gw.http.get("/api/v1/numbers/999/health", headers=AUTH).status_code == 404
        assert gw.http.get(HEALTH).status_code == 401
