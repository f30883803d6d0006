"""The Meta envelope: every entry, change and item; unknown fields and shapes never raise."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.data import load, names
from wacoex.domain.facts import (
    AccountEvent,
    ContactChange,
    Echo,
    HistoryChunk,
    InboundMessage,
    StatusUpdate,
    Unknown,
)
from wacoex.whatsapp.bodies import parse_bytes
from wacoex.whatsapp.dialog360 import parse_360dialog
from wacoex.whatsapp.envelope import ENVELOPE, parse_meta


def test_batched_payload_yields_every_item_of_every_change_of_every_entry() -> None:
    facts = parse_meta(load("meta/batched"))
    kinds = [(type(f).__name__, f.source.field, f.source.waba_id) for f in facts]
    assert kinds == [
        ("InboundMessage", "messages", "102290129340398"),
        ("InboundMessage", "messages", "102290129340398"),
        ("InboundMessage", "messages", "102290129340398"),
        ("StatusUpdate", "messages", "102290129340398"),
        ("StatusUpdate", "messages", "102290129340398"),
        ("Echo", "smb_message_echoes", "102290129340398"),
        ("Echo", "smb_message_echoes", "102290129340398"),
        ("HistoryChunk", "history", "102290129340398"),
        ("ContactChange", "smb_app_state_sync", "205837419026611"),
        ("ContactChange", "smb_app_state_sync", "205837419026611"),
        ("Unknown", "phone_number_quality_update", "205837419026611"),
        ("AccountEvent", "account_update", "862475293675413"),
    ]


def test_batched_messages_get_their_own_contact_profile() -> None:
    facts = parse_meta(load("meta/batched"))
    messages = [f for f in facts if isinstance(f, InboundMessage)]
    names_by_sender = {m.from_wa_id: m.profile.profile_name if m.profile else None for m in messages}
    assert names_by_sender == {"16505551234": "Sheena Nelson", "12125557890": "Pablo Morales"}


def test_batched_second_entry_keeps_its_own_number() -> None:
    facts = parse_meta(load("meta/batched"))
    changes = [f for f in facts if isinstance(f, ContactChange)]
    assert {c.source.phone_number_id for c in changes} == {"208811223344556"}
    assert {c.source.display_phone_number for c in changes} == {"447700900123"}


def test_unknown_field_is_kept_raw_with_a_reason() -> None:
    body = load("meta/unknown_field")
    [fact] = parse_meta(body)
    assert isinstance(fact, Unknown)
    assert fact.reason == "unknown field phone_number_quality_update"
    assert fact.raw == body["entry"][0]["changes"][0]["value"]
    assert fact.source.field == "phone_number_quality_update"
    assert fact.source.waba_id == "102290129340398"


@pytest.mark.parametrize("name", names("meta"))
def test_every_meta_fixture_parses_to_facts_and_only_the_unknown_field_is_unknown(name: str) -> None:
    facts = parse_meta(load(name))
    assert facts
    unknown = [f for f in facts if isinstance(f, Unknown)]
    expected = 1 if name in ("meta/batched", "meta/unknown_field") else 0
    assert len(unknown) == expected, unknown


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "body is not a JSON object"),
        ("text", "body is not a JSON object"),
        (None, "body is not a JSON object"),
        ({}, "entry: missing or not a list"),
        ({"entry": {"id": "1"}}, "entry: missing or not a list"),
        ({"entry": [5]}, "entry[0]: not an object"),
        ({"entry": [{"id": "1"}]}, "entry[0].changes: missing or not a list"),
        ({"entry": [{"id": "1", "changes": [[]]}]}, "entry[0].changes[0]: not an object with a string field"),
        (
            {"entry": [{"id": "1", "changes": [{"field": 3}]}]},
            "entry[0].changes[0]: not an object with a string field",
        ),
        ({"entry": [{"id": "1", "changes": [{"field": "messages"}]}]}, "messages: value is not an object"),
        (
            {"entry": [{"id": "1", "changes": [{"field": "history", "value": []}]}]},
            "history: value is not an object",
        ),
    ],
)
def test_bodies_of_unexpected_shape_become_unknown(body: Any, reason: str) -> None:
    [fact] = parse_meta(body)
    assert isinstance(fact, Unknown)
    assert fact.reason == reason


def test_envelope_level_unknown_has_the_envelope_field() -> None:
    [fact] = parse_meta([])
    assert fact.source.field == ENVELOPE


def test_empty_entry_list_yields_nothing() -> None:
    assert parse_meta({"object": "whatsapp_business_account", "entry": []}) == []


def test_numeric_entry_id_and_time_are_accepted() -> None:
    body = load("meta/account_update/account_offboarded")
    body["entry"][0]["id"] = 862475293675413
    [event] = parse_meta(body)
    assert isinstance(event, AccountEvent)
    assert event.source.waba_id == "862475293675413"


# --- never raise --------------------------------------------------------------------------------

JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
ARBITRARY_JSON = st.recursive(
    JSON_LEAF,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=30,
)

# Keys and values the parsers look at, so generated bodies reach deep into every field parser.
KEYS = st.sampled_from(
    [
        "object", "entry", "id", "time", "changes", "field", "value", "metadata", "phone_number_id",
        "display_phone_number", "messages", "statuses", "contacts", "errors", "message_echoes", "history",
        "threads", "state_sync", "contact", "action", "phone_number", "event", "waba_info",
        "disconnection_info", "from", "to", "type", "timestamp", "text", "body", "caption", "context",
        "interactive", "button_reply", "title", "edit", "message", "status", "recipient_id", "wa_id",
        "user_id", "from_user_id", "to_user_id", "profile", "name", "phase", "chunk_order", "progress",
        "history_context", "pricing", "code", "data", "image", "reason",
    ]
)  # fmt: skip
PLAUSIBLE_LEAF = JSON_LEAF | st.sampled_from(
    [
        "messages", "smb_message_echoes", "history", "smb_app_state_sync", "account_update", "text",
        "image", "interactive", "button_reply", "edit", "contact", "add", "remove", "1739230955", "7",
        "wamid.X", "16505551234", "button", "order", "list_reply", "PARTNER_REMOVED",
    ]
)  # fmt: skip
PLAUSIBLE_JSON = st.recursive(
    PLAUSIBLE_LEAF,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=60,
)


def _meta_envelope(value: Any, field: str) -> dict[str, Any]:
    return {"entry": [{"id": "1", "changes": [{"field": field, "value": value}]}]}


FIELDS = st.sampled_from(
    ["messages", "smb_message_echoes", "history", "smb_app_state_sync", "account_update", "x"]
)
HYPOTHESIS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYPOTHESIS
@given(ARBITRARY_JSON)
def test_parse_meta_never_raises_on_arbitrary_json(body: Any) -> None:
    parse_meta(body)
    parse_360dialog(body)


@HYPOTHESIS
@given(PLAUSIBLE_JSON)
def test_parse_meta_never_raises_on_plausible_bodies(body: Any) -> None:
    parse_meta(body)
    parse_360dialog(body)


@HYPOTHESIS
@given(PLAUSIBLE_JSON, FIELDS)
def test_every_field_parser_survives_any_value(value: Any, field: str) -> None:
    for fact in parse_meta(_meta_envelope(value, field)):
        assert fact.source.field == field
    parse_360dialog({"id": "e", "event": field, "data": value})


@HYPOTHESIS
@given(PLAUSIBLE_JSON, FIELDS)
def test_every_field_parser_survives_any_item(item: Any, field: str) -> None:
    list_key = {
        "messages": "messages",
        "smb_message_echoes": "message_echoes",
        "history": "history",
        "smb_app_state_sync": "state_sync",
    }.get(field, "statuses")
    value = {"metadata": {"phone_number_id": "1"}, list_key: [item], "statuses": [item], "contacts": [item]}
    parse_meta(_meta_envelope(value, field))
    thread = {"id": "1", "messages": [item]}
    parse_meta(_meta_envelope({"history": [{"metadata": item, "threads": [thread, item]}]}, "history"))


@HYPOTHESIS
@given(PLAUSIBLE_JSON)
def test_parsing_bytes_of_any_json_never_raises(body: Any) -> None:
    raw = json.dumps(body).encode()  # stdlib: orjson refuses to encode integers beyond 64 bits
    parse_bytes(raw, "meta")
    parse_bytes(raw, "360dialog")


def test_known_item_classes_are_all_reachable_from_fixtures() -> None:
    seen = {type(f) for name in names("meta") for f in parse_meta(load(name))}
    assert {InboundMessage, StatusUpdate, Echo, HistoryChunk, ContactChange, AccountEvent} <= seen
