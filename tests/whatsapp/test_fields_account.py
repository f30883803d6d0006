"""Field `account_update`: both PARTNER_REMOVED shapes, every disconnection reason, offboard/reconnect."""

from __future__ import annotations

import pytest

from tests.data import load
from wacoex.domain.facts import AccountEvent, Unknown
from wacoex.whatsapp.envelope import parse_meta


def one_event(name: str) -> AccountEvent:
    facts = parse_meta(load(f"meta/account_update/{name}"))
    assert len(facts) == 1
    fact = facts[0]
    assert isinstance(fact, AccountEvent), fact
    return fact


def test_partner_removed_coexistence_shape_names_the_phone_number() -> None:
    event = one_event("partner_removed_phone_number")
    assert event.event == "PARTNER_REMOVED"
    assert event.phone_number == "15550783881"
    assert event.waba_id is None
    assert event.timestamp == 1739212624
    assert (event.disconnection_reason, event.disconnection_initiated_by) == ("PRIMARY_INACTIVITY", "SYSTEM")
    assert event.source.waba_id == "102290129340398"
    assert event.source.entry_time == 1739212624
    assert event.source.phone_number_id is None


def test_partner_removed_reference_shape_names_the_waba() -> None:
    event = one_event("partner_removed_waba_info")
    assert event.event == "PARTNER_REMOVED"
    assert event.phone_number is None
    assert event.waba_id == "980198427658004"
    # entry.id here is the partner's business id (spec C-7), kept apart from the customer's WABA.
    assert event.source.waba_id == "2949482758682047"
    assert event.timestamp == 1748477359
    assert event.disconnection_reason == "PRIMARY_INACTIVITY"


@pytest.mark.parametrize(
    ("reason", "initiated_by"),
    [
        ("ACCOUNT_DISCONNECTED", "USER"),
        ("BUSINESS_DOWNGRADE", "USER"),
        ("CHANGE_NUMBER", "USER"),
        ("COMPANION_INACTIVITY", "SYSTEM"),
        ("PRIMARY_INACTIVITY", "SYSTEM"),
        ("USER_RE_REGISTERED", "USER"),
    ],
)
def test_every_disconnection_reason_is_read(reason: str, initiated_by: str) -> None:
    event = one_event(f"partner_removed_{reason.lower()}")
    assert (event.disconnection_reason, event.disconnection_initiated_by) == (reason, initiated_by)


def test_partner_removed_without_disconnection_info() -> None:
    event = one_event("partner_removed_without_disconnection_info")
    assert event.event == "PARTNER_REMOVED"
    assert (event.disconnection_reason, event.disconnection_initiated_by) == (None, None)


@pytest.mark.parametrize(
    ("name", "event_name", "time"),
    [
        ("account_offboarded", "ACCOUNT_OFFBOARDED", 1768477204),
        ("account_reconnected", "ACCOUNT_RECONNECTED", 1768477203),
        ("account_offboarded_string_time", "ACCOUNT_OFFBOARDED", 1768477204),
    ],
)
def test_offboard_and_reconnect_events_carry_entry_time(name: str, event_name: str, time: int) -> None:
    event = one_event(name)
    assert event.event == event_name
    assert event.timestamp == time
    assert event.source.waba_id == "862475293675413"


def test_partner_app_installed_names_the_customer_waba() -> None:
    event = one_event("partner_app_installed")
    assert event.event == "PARTNER_APP_INSTALLED"
    assert event.waba_id == "1191624265890717"
    assert event.raw["waba_info"]["solution_partner_business_ids"] == ["2949482758682047", "520744086200222"]


def test_account_update_without_event_becomes_unknown() -> None:
    body = {"entry": [{"id": "1", "time": 5, "changes": [{"field": "account_update", "value": {"x": 1}}]}]}
    [fact] = parse_meta(body)
    assert isinstance(fact, Unknown)
    assert fact.reason == "account_update: missing or non-string event"
    assert fact.raw == {"x": 1}
