"""360dialog: phone-number webhooks in Meta's envelope, partner webhooks in `{id, event, data}`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.data import load
from wacoex.domain.enums import ContactAction
from wacoex.domain.facts import ContactChange, Echo, HistoryChunk, InboundMessage, Unknown
from wacoex.whatsapp.dialog360 import parse_360dialog
from wacoex.whatsapp.envelope import parse_meta


def test_partner_history_event_gives_the_same_chunk_as_meta() -> None:
    [chunk] = parse_360dialog(load("360dialog/partner_history"))
    [meta_chunk] = parse_meta(load("meta/history/approved"))
    assert isinstance(chunk, HistoryChunk)
    assert isinstance(meta_chunk, HistoryChunk)
    assert (chunk.phase, chunk.chunk_order, chunk.progress) == (0, 1, 55)
    assert chunk.messages == meta_chunk.messages
    assert chunk.source.field == "history"
    assert chunk.source.waba_id == "102290129340398"
    assert chunk.source.phone_number_id == "106540352242922"
    assert chunk.source.display_phone_number == "15550783881"


def test_partner_history_decline_is_recorded() -> None:
    [chunk] = parse_360dialog(load("360dialog/partner_history_declined"))
    assert isinstance(chunk, HistoryChunk)
    assert chunk.declined


def test_partner_state_sync_event_gives_contact_changes() -> None:
    add, remove = parse_360dialog(load("360dialog/partner_smb_app_state_sync"))
    assert isinstance(add, ContactChange)
    assert isinstance(remove, ContactChange)
    assert (add.action, remove.action) == (ContactAction.ADD, ContactAction.REMOVE)
    assert add.source.field == "smb_app_state_sync"
    assert add.source.waba_id == "102290129340398"


def test_partner_envelope_example_with_empty_history_yields_nothing_and_never_raises() -> None:
    assert parse_360dialog(load("360dialog/partner_envelope_example")) == []


def test_phone_number_webhook_in_meta_envelope_is_delegated() -> None:
    [message] = parse_360dialog(load("360dialog/phone_messages"))
    assert isinstance(message, InboundMessage)
    assert message.text == "Does it come in another color?"
    assert message.source.phone_number_id == "106540352242922"
    [echo] = parse_360dialog(load("360dialog/phone_echoes"))
    assert isinstance(echo, Echo)
    assert echo.to == "16505551234"


def test_partner_echo_event_is_parsed_like_the_meta_field() -> None:
    value = load("meta/smb_message_echoes/text")["entry"][0]["changes"][0]["value"]
    [echo] = parse_360dialog({"id": "evt", "event": "smb_message_echoes", "data": {"id": "w", **value}})
    assert isinstance(echo, Echo)
    assert echo.source.waba_id == "w"


def test_unknown_partner_event_is_kept_raw() -> None:
    data = {"id": "w", "status": "live"}
    [fact] = parse_360dialog({"id": "evt", "event": "channel_status", "data": data})
    assert isinstance(fact, Unknown)
    assert fact.reason == "unknown field channel_status"
    assert fact.raw == data
    assert fact.source.waba_id == "w"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "body is not a JSON object"),
        ({"id": "evt"}, "neither a Meta envelope (entry) nor a 360dialog partner event (event, data)"),
        (
            {"event": 5, "data": {}},
            "neither a Meta envelope (entry) nor a 360dialog partner event (event, data)",
        ),
        ({"event": "history", "data": "x"}, "history: value is not an object"),
    ],
)
def test_unrecognised_360dialog_bodies_become_unknown(body: Any, reason: str) -> None:
    [fact] = parse_360dialog(body)
    assert isinstance(fact, Unknown)
    assert fact.reason == reason
