"""domain.messages.merge: what a message arriving again changes, decided without a database."""

from __future__ import annotations

from typing import Any

from wacoex.domain.enums import MessageStatus
from wacoex.domain.messages import StoredMessage, merge


def _stored(**kw: Any) -> StoredMessage:
    base: dict[str, Any] = dict(
        id=1,
        conversation_id=7,
        origin="customer",
        direction="inbound",
        type="text",
        status="received",
        placeholder=False,
        pending_edit=None,
        reactions=None,
        occurred_at=1_000,
    )
    return StoredMessage(**{**base, **kw})


LIVE_TEXT: dict[str, Any] = dict(
    wamid="w",
    type="text",
    content={"body": "hi"},
    text="hi",
    occurred_at=1_000,
    conversation_id=7,
    direction="inbound",
    origin="customer",
    status="received",
    status_at=1_000,
)


def test_a_duplicate_changes_nothing() -> None:
    assert merge(_stored(), LIVE_TEXT).values == {}


def test_a_customer_message_fills_a_placeholder_a_status_made_and_is_received() -> None:
    placeholder = _stored(placeholder=True, origin="api", direction="outbound", type="unknown", status="read")
    m = merge(placeholder, LIVE_TEXT)
    assert m.filled
    assert m.status is None
    assert m.values["origin"] == "customer"
    assert m.values["status"] == "received"
    assert m.values["placeholder"] is False
    assert m.values["text"] == "hi"


def test_an_echo_filling_a_placeholder_keeps_the_status_already_reached() -> None:
    placeholder = _stored(placeholder=True, origin="api", direction="outbound", type="unknown", status="read")
    echo = {**LIVE_TEXT, "direction": "outbound", "origin": "business_app", "status": "sent"}
    m = merge(placeholder, echo)
    assert "status" not in m.values
    assert m.status is None
    fresh = merge(_stored(placeholder=True, origin="unknown", status=None, conversation_id=None), echo)
    assert fresh.status is MessageStatus.SENT
    assert fresh.values["conversation_id"] == 7


def test_history_then_live_is_one_message_labelled_by_the_live_source() -> None:
    m = merge(_stored(origin="history", status="received"), LIVE_TEXT)
    assert m.promoted
    assert m.values == {"origin": "customer"}


def test_a_chunk_is_authoritative_over_its_media_follow_up() -> None:
    follow_up = _stored(
        origin="history", direction="outbound", status="sent", conversation_id=None, type="image"
    )
    chunk = {
        **LIVE_TEXT,
        "type": "image",
        "origin": "history",
        "direction": "inbound",
        "history_status": "READ",
        "status": "received",
        "note": None,
    }
    m = merge(follow_up, chunk)
    assert m.attached
    assert not m.promoted
    assert m.values["direction"] == "inbound"
    assert m.values["history_status"] == "READ"
    assert m.values["occurred_at"] == 1_000
