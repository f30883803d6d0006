"""Stored bodies to facts by provider: JSON errors are the only failure, both envelopes are read."""

from __future__ import annotations

import pytest

from tests.data import load_bytes
from wacoex.domain.facts import HistoryChunk, InboundMessage, Unknown
from wacoex.errors import InvalidInput, PayloadError
from wacoex.whatsapp.bodies import parse_bytes


def test_parse_bytes_reads_meta_bodies() -> None:
    facts = parse_bytes(load_bytes("meta/messages/text"), "meta")
    assert [type(f) for f in facts] == [InboundMessage]


def test_parse_bytes_routes_360dialog_partner_bodies() -> None:
    facts = parse_bytes(load_bytes("360dialog/partner_history"), "360dialog")
    assert [type(f) for f in facts] == [HistoryChunk]


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b'{"entry": [}', b"\xff\xfe"])
def test_parse_bytes_raises_payload_error_only_for_invalid_json(raw: bytes) -> None:
    with pytest.raises(PayloadError):
        parse_bytes(raw, "meta")


@pytest.mark.parametrize("raw", [b"[]", b"1", b"null", b'"x"', b"{}"])
def test_parse_bytes_turns_valid_json_of_any_shape_into_unknown(raw: bytes) -> None:
    [fact] = parse_bytes(raw, "meta")
    assert isinstance(fact, Unknown)


def test_parse_bytes_refuses_an_unknown_provider() -> None:
    with pytest.raises(InvalidInput):
        parse_bytes(b"{}", "twilio")


def test_parse_bytes_keeps_unicode_as_sent() -> None:
    facts = parse_bytes(load_bytes("meta/messages/reaction"), "meta")
    [message] = facts
    assert isinstance(message, InboundMessage)
    assert message.content["emoji"] == "👍"
