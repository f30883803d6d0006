"""The number's lifecycle end to end: the owner disconnects from the app's settings on the emulator's
phone; the gateway marks the number disconnected, refuses sends before they leave, and its health
shows why, with an open alert."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.e2e.test_sending_against_emulator import ANA, PNID, Rig, send
from tests.e2e.test_sending_against_emulator import rig as rig  # the gateway and the emulator, served

pytestmark = [pytest.mark.e2e]


def test_a_disconnect_from_the_app_settings_stops_sends_and_shows_an_alert(rig: Rig) -> None:
    rig.customer_writes(ANA, "Is the shop open?")
    assert send(rig.gw, {"to": ANA, "text": "Yes, until 6."}).status_code == 200
    before = rig.gw.get(f"/api/v1/numbers/{PNID}/health").json()
    assert (before["state"], before["can_send"], before["alerts"]) == ("connected", True, [])
    assert before["last_webhook_at"] is not None  # the customer's message

    # Settings > Account > Business Platform > Disconnect Account, on the owner's phone
    rig.emu.post(f"/numbers/{PNID}/app/disconnect").raise_for_status()
    rig.until(
        lambda: rig.gw.get(f"/api/v1/numbers/{PNID}").json()["state"] == "disconnected",
        "the number disconnected",
    )

    refused = send(rig.gw, {"to": ANA, "text": "Are you still there?"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "number_disconnected"
    assert len(rig.sent_by_api(ANA)) == 1  # nothing more reached the provider

    health = rig.gw.get(f"/api/v1/numbers/{PNID}/health").json()
    assert (health["state"], health["state_reason"], health["can_send"]) == (
        "disconnected",
        "ACCOUNT_DISCONNECTED",
        False,
    )
    assert "Settings > Account > Business Platform" in health["state_explained"]
    assert health["heartbeat"]["days_left"] is None
    [alert] = health["alerts"]
    assert (alert["kind"], alert["severity"], alert["event"]) == ("connection", "critical", "PARTNER_REMOVED")
    assert "(initiated by the owner)" in alert["message"]
    assert alert["details"]["disconnection_info"] == {
        "reason": "ACCOUNT_DISCONNECTED",
        "initiated_by": "USER",
    }
    with rig.container.engine.connect() as conn:
        types = conn.execute(
            sa.text("SELECT type FROM events WHERE type LIKE 'number.%' ORDER BY id")
        ).scalars()
        assert list(types) == ["number.state_changed", "number.alert"]
