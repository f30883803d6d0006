"""account_update events that change no state are alerts, recorded with the event, never silent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests import payloads as p
from tests.data import load
from tests.gateway import Gateway, running_gateway
from wacoex.domain.alerts import DOCUMENTED_EVENTS
from wacoex.domain.lifecycle import NUMBER_TRANSITIONS


@pytest.fixture
def gw(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    with running_gateway(db_url, tmp_path) as g:
        g.register()
        yield g


def _update(value: dict[str, Any], time: int) -> dict[str, Any]:
    return p.envelope("account_update", {"phone_number": p.BIZ, **value}, time=time)


def _alerts(gw: Gateway) -> list[dict[str, Any]]:
    with gw.container.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT kind, severity, message, details, opened_at, resolved_at FROM alerts ORDER BY id")
        ).mappings()
        out = [dict(r) for r in rows]
    for row in out:
        if isinstance(row["details"], str):
            row["details"] = json.loads(row["details"])
    return out


def _events(gw: Gateway, type_: str) -> list[dict[str, Any]]:
    with gw.container.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT payload FROM events WHERE type = :t ORDER BY id"), {"t": type_})
        return [r[0] if isinstance(r[0], dict) else json.loads(r[0]) for r in rows]


def test_every_documented_event_is_a_state_change_or_a_visible_alert(gw: Gateway) -> None:
    for i, event in enumerate(sorted(DOCUMENTED_EVENTS)):
        before = (gw.scalar("SELECT count(*) FROM alerts"), gw.scalar("SELECT count(*) FROM events"))
        gw.deliver(_update({"event": event}, time=1_760_000_000 + i))
        after = (gw.scalar("SELECT count(*) FROM alerts"), gw.scalar("SELECT count(*) FROM events"))
        changed_state = event in NUMBER_TRANSITIONS
        assert after[1] > before[1], f"{event}: no event recorded"
        assert changed_state or after[0] == before[0] + 1, f"{event}: neither a state change nor an alert"


def test_an_uninstalled_partner_app_is_a_critical_alert_with_its_event(gw: Gateway) -> None:
    gw.deliver(_update({"event": "PARTNER_APP_UNINSTALLED", "waba_info": {"waba_id": p.WABA}}, 1_760_000_000))
    [alert] = _alerts(gw)
    assert alert["kind"] == "partner_app"
    assert alert["severity"] == "critical"
    assert "uninstalled" in alert["message"]
    assert alert["opened_at"] == 1_760_000_000_000
    assert alert["resolved_at"] is None
    [event] = _events(gw, "number.alert")
    assert event["phone_number_id"] == p.PNID
    assert event["event"] == "PARTNER_APP_UNINSTALLED"
    assert event["message"] == alert["message"]
    # installing the app again supersedes the uninstallation
    gw.deliver(_update({"event": "PARTNER_APP_INSTALLED"}, 1_760_000_100))
    old, new = _alerts(gw)
    assert old["resolved_at"] == 1_760_000_100_000
    assert (new["severity"], new["resolved_at"]) == ("info", None)


def test_a_duplicate_opens_nothing_and_an_older_one_is_recorded_resolved(gw: Gateway) -> None:
    ban = _update({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "DISABLE"}}, 2000)
    gw.deliver(ban)
    gw.deliver(ban)
    assert gw.scalar("SELECT count(*) FROM alerts") == 1
    gw.deliver(_update({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "REINSTATE"}}, 3000))
    gw.deliver(
        _update({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "SCHEDULE_FOR_DISABLE"}}, 1000)
    )
    by_time = {a["opened_at"]: a for a in _alerts(gw)}
    assert by_time[2_000_000]["resolved_at"] == 3_000_000  # the reinstatement closed the ban
    assert by_time[3_000_000]["resolved_at"] is None
    assert by_time[1_000_000]["resolved_at"] == 3_000_000  # late: never open
    assert [e["opened_at"] for e in _events(gw, "number.alert")] == [2_000_000, 3_000_000]


def test_restriction_and_violation_keep_what_meta_said(gw: Gateway) -> None:
    info = [{"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": 1_760_100_000}]
    gw.deliver(_update({"event": "ACCOUNT_RESTRICTION", "restriction_info": info}, 100))
    gw.deliver(_update({"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "SCAM"}}, 101))
    restriction, violation = _alerts(gw)
    assert restriction["details"] == {"restriction_info": info}
    assert "RESTRICTED_ADD_PHONE_NUMBER_ACTION" in restriction["message"]
    assert "(SCAM)" in violation["message"]


def test_a_disconnection_is_an_alert_and_a_reconnection_resolves_it(gw: Gateway) -> None:
    gw.deliver(load("meta/account_update/partner_removed_account_disconnected"))  # the documented example
    assert gw.get(f"/api/v1/numbers/{p.PNID}")["state"] == "disconnected"
    [alert] = [a for a in _alerts(gw) if a["kind"] == "connection"]
    assert alert["severity"] == "critical"
    assert "Settings > Account > Business Platform" in alert["message"]
    assert "(initiated by the owner)" in alert["message"]
    gw.deliver(_update({"event": "ACCOUNT_RECONNECTED"}, 1))  # stale: fenced, resolves nothing
    assert [a["resolved_at"] for a in _alerts(gw) if a["kind"] == "connection"] == [None]
    gw.deliver(_update({"event": "ACCOUNT_RECONNECTED"}, 1_800_000_000))
    assert gw.get(f"/api/v1/numbers/{p.PNID}")["state"] == "connected"
    assert [a["resolved_at"] for a in _alerts(gw) if a["kind"] == "connection"] == [1_800_000_000_000]


def test_an_unknown_event_is_a_warning(gw: Gateway) -> None:
    gw.deliver(_update({"event": "BRAND_NEW_EVENT", "something": {"a": 1}}, 5))
    [alert] = _alerts(gw)
    assert (alert["kind"], alert["severity"]) == ("unknown_account_event", "warning")
    assert alert["details"] == {"event": "BRAND_NEW_EVENT", "something": {"a": 1}}
