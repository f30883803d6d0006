"""Every documented account_update event is a state change or an alert; reasons read as sentences."""

from __future__ import annotations

import pytest

from wacoex.domain.alerts import DOCUMENTED_EVENTS, AlertKind, Severity, account_alert
from wacoex.domain.lifecycle import (
    DISCONNECTION_REASONS,
    NUMBER_TRANSITIONS,
    NumberState,
    explain_disconnection,
)


@pytest.mark.parametrize("event", sorted(DOCUMENTED_EVENTS))
def test_every_documented_event_changes_the_state_or_opens_an_alert(event: str) -> None:
    moved_to = NUMBER_TRANSITIONS.get(event)
    decision = account_alert(event, {"event": event}, moved_to=moved_to)
    assert moved_to is not None or decision.alert is not None
    if decision.alert is not None:
        assert decision.alert.kind is not AlertKind.UNKNOWN_ACCOUNT_EVENT
        assert decision.alert.message.endswith(".")


def test_a_disconnection_opens_a_critical_alert_explaining_the_reason() -> None:
    value = {
        "event": "PARTNER_REMOVED",
        "phone_number": "15550783881",
        "disconnection_info": {"reason": "PRIMARY_INACTIVITY", "initiated_by": "SYSTEM"},
    }
    decision = account_alert("PARTNER_REMOVED", value, moved_to=NumberState.DISCONNECTED)
    alert = decision.alert
    assert alert is not None
    assert (alert.kind, alert.severity) == (AlertKind.CONNECTION, Severity.CRITICAL)
    assert "not opened for about 14 days (initiated by WhatsApp)" in alert.message
    assert alert.details == {
        "event": "PARTNER_REMOVED",
        "disconnection_info": {"reason": "PRIMARY_INACTIVITY", "initiated_by": "SYSTEM"},
    }


def test_a_fenced_lifecycle_event_opens_nothing_and_a_reconnection_resolves() -> None:
    assert account_alert("PARTNER_REMOVED", {}, moved_to=None).alert is None
    reconnect = account_alert("ACCOUNT_RECONNECTED", {}, moved_to=NumberState.CONNECTED)
    assert reconnect.alert is None
    assert reconnect.resolves == (AlertKind.CONNECTION,)


def test_ban_states_and_restrictions_are_spelled_out() -> None:
    banned = account_alert(
        "DISABLED_UPDATE",
        {"ban_info": {"waba_ban_state": "SCHEDULE_FOR_DISABLE", "waba_ban_date": "2026-12-24"}},
        moved_to=None,
    ).alert
    assert banned is not None
    assert banned.severity is Severity.CRITICAL
    assert "on 2026-12-24" in banned.message
    reinstated = account_alert(
        "DISABLED_UPDATE", {"ban_info": {"waba_ban_state": "REINSTATE"}}, moved_to=None
    )
    assert reinstated.alert is not None
    assert reinstated.alert.severity is Severity.INFO
    assert reinstated.resolves == (AlertKind.ACCOUNT_DISABLED,)  # the ban alert closes
    restricted = account_alert(
        "ACCOUNT_RESTRICTION",
        {"restriction_info": [{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 1}]},
        moved_to=None,
    ).alert
    assert restricted is not None
    assert "RESTRICTED_BIZ_INITIATED_MESSAGING" in restricted.message


def test_an_undocumented_event_is_a_warning_not_silence() -> None:
    decision = account_alert("SOMETHING_NEW", {"event": "SOMETHING_NEW", "x": 1}, moved_to=None)
    assert decision.alert is not None
    assert decision.alert.kind is AlertKind.UNKNOWN_ACCOUNT_EVENT
    assert decision.alert.severity is Severity.WARNING
    assert decision.alert.details == {"event": "SOMETHING_NEW", "x": 1}
    assert decision.resolves == ()


@pytest.mark.parametrize("reason", sorted(DISCONNECTION_REASONS))
def test_each_disconnection_reason_is_one_sentence(reason: str) -> None:
    text = explain_disconnection(reason, "USER")
    assert text[0].isupper()
    assert text.endswith("(initiated by the owner).")
    assert reason not in text
    assert "does not know (ODD)" in explain_disconnection("ODD", None)
