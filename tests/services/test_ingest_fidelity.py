"""Shapes real webhooks take beyond the happy path: number changes, names on statuses, missing
timestamps, history without history_context, statuses that name a customer's message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import payloads as p
from tests.data import load
from tests.gateway import Gateway, running_gateway

CUSTOMER = "16505551234"


@pytest.fixture
def gw(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    with running_gateway(db_url, tmp_path) as g:
        g.register()
        yield g


def _by_wamid(gw: Gateway) -> dict[str, dict[str, Any]]:
    return {m["wamid"]: m for m in gw.all_messages()}


# -- status is never null ------------------------------------------------------------------------


def test_an_outbound_history_message_without_history_context_is_sent(gw: Gateway) -> None:
    gw.deliver(load("meta/history/without_history_context"))
    [conv] = gw.conversations()
    out, inn = gw.messages(conv["id"])
    assert (out["direction"], out["origin"], out["status"], out["history_status"]) == (
        "outbound",
        "history",
        "sent",
        None,
    )
    assert (inn["direction"], inn["status"]) == ("inbound", "received")


def test_a_history_message_with_an_unknown_history_status_is_sent_and_keeps_the_value(gw: Gateway) -> None:
    item = p.hmsg("wamid.HNEW", p.BIZ, 1_739_230_900, status_="DELETED")
    gw.deliver(p.history(0, 1, 10, [{"id": CUSTOMER, "messages": [item]}]))
    [msg] = gw.all_messages()
    assert (msg["status"], msg["history_status"]) == ("sent", "DELETED")


def test_an_inbound_history_media_follow_up_before_its_chunk_is_received(gw: Gateway) -> None:
    gw.deliver(load("meta/history/media_followup"))  # from the customer; its chunk has not come yet
    [conv] = gw.conversations()
    [msg] = gw.messages(conv["id"])
    assert (msg["direction"], msg["origin"], msg["type"], msg["status"]) == (
        "inbound",
        "history",
        "image",
        "received",
    )
    # The chunk that comes later is still authoritative (the placeholder is the business's, PLAYED).
    gw.deliver(load("meta/history/approved"))
    msg = _by_wamid(gw)[msg["wamid"]]
    assert (msg["direction"], msg["status"], msg["history_status"]) == ("outbound", "played", "PLAYED")


def test_an_outbound_history_media_follow_up_before_its_chunk_is_sent(gw: Gateway) -> None:
    media = load("meta/history/media_followup")
    media["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = p.BIZ
    gw.deliver(media)
    # Outbound media names no counterparty, so it is in no conversation until its chunk comes.
    assert gw.scalar("SELECT count(*) FROM messages WHERE status IS NULL") == 0
    assert gw.scalar("SELECT status FROM messages") == "sent"


# -- a status before the customer's message with the same wamid ---------------------------------


def test_a_status_before_an_inbound_message_leaves_the_customer_message(gw: Gateway) -> None:
    wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    pricing = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "service"}
    gw.deliver(p.status(wamid, "read", 1_749_416_390, recipient=CUSTOMER, pricing=pricing))
    [msg] = gw.all_messages()
    assert (msg["origin"], msg["placeholder"]) == ("api", True)  # what the gateway can tell so far
    gw.deliver(p.inbound(wamid, CUSTOMER, 1_749_416_383, "Does it come in another color?", name="Sheena"))
    [conv] = gw.conversations()
    assert conv["counts"] == {"messages": 1, "history": 0, "unread": 1}
    [msg] = gw.messages(conv["id"])
    assert (msg["direction"], msg["origin"], msg["status"], msg["placeholder"], msg["text"]) == (
        "inbound",
        "customer",
        "received",
        False,
        "Does it come in another color?",
    )
    assert msg["pricing"] is None
    assert gw.scalar("SELECT count(*) FROM events WHERE type = 'message.received'") == 1
    # A status that comes after it changes nothing: it is not a message the business sent.
    gw.deliver(p.status(wamid, "read", 1_749_416_400, recipient=CUSTOMER, pricing=pricing))
    [msg] = gw.all_messages()
    assert (msg["origin"], msg["status"], msg["pricing"]) == ("customer", "received", None)


def test_a_status_before_a_history_inbound_message_does_not_leave_origin_api(gw: Gateway) -> None:
    gw.deliver(p.status("wamid.HIN", "delivered", 1_739_230_990, recipient=CUSTOMER))
    gw.deliver(
        p.history(0, 1, 10, [{"id": CUSTOMER, "messages": [p.hmsg("wamid.HIN", CUSTOMER, 1_739_230_970)]}])
    )
    [msg] = gw.all_messages()
    assert (msg["direction"], msg["origin"], msg["status"]) == ("inbound", "history", "received")


# -- contacts[] on a status names the contact -----------------------------------------------------


def test_a_status_with_contacts_names_a_conversation_the_business_started(gw: Gateway) -> None:
    gw.deliver(load("meta/messages/status_with_contacts"))
    [conv] = gw.conversations()
    contact = conv["contact"]
    assert (contact["wa_id"], contact["display_name"], contact["names"]["profile"]) == (
        CUSTOMER,
        "Sheena Nelson",
        "Sheena Nelson",
    )
    [msg] = gw.messages(conv["id"])
    assert (msg["origin"], msg["status"]) == ("api", "sent")


def test_a_status_with_contacts_names_the_recipient_of_a_message_already_known(gw: Gateway) -> None:
    gw.deliver(p.echo("wamid.KNOWN", CUSTOMER, 1_750_030_000, "Your table is booked"))
    [conv] = gw.conversations()
    assert conv["contact"]["display_name"] == CUSTOMER  # echoes carry no name
    body = load("meta/messages/status_with_contacts")
    status = body["entry"][0]["changes"][0]["value"]["statuses"][0]
    status.update(id="wamid.KNOWN", status="delivered")
    gw.deliver(body)
    [conv] = gw.conversations()
    assert conv["contact"]["display_name"] == "Sheena Nelson"
    [msg] = gw.messages(conv["id"])
    assert (msg["origin"], msg["status"]) == ("business_app", "delivered")
    # An older status with an older name does not undo a newer one.
    status.update(status="sent", timestamp="1750029000")
    body["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = "Sheena"
    gw.deliver(body)
    [conv] = gw.conversations()
    assert conv["contact"]["names"]["profile"] == "Sheena Nelson"


# -- an item without a timestamp is applied at the receipt's time, and says so --------------------


def _noted(msg: dict[str, Any]) -> bool:
    return msg["occurred_at"] == msg["received_at"] and "without a readable timestamp" in (msg["note"] or "")


def test_a_customer_message_without_a_timestamp_is_kept_at_the_receipt_time(gw: Gateway) -> None:
    gw.deliver(load("meta/messages/text_without_timestamp"))
    assert gw.get("/api/v1/unknown")["items"] == []
    [conv] = gw.conversations()
    assert conv["contact"]["display_name"] == "Sheena Nelson"
    assert conv["counts"] == {"messages": 1, "history": 0, "unread": 1}
    [msg] = gw.messages(conv["id"])
    assert (msg["direction"], msg["origin"], msg["text"], msg["status"]) == (
        "inbound",
        "customer",
        "Does it come in another color?",
        "received",
    )
    assert _noted(msg)
    assert msg["status_at"] == msg["occurred_at"]
    # received just now, so the customer's window is open
    assert conv["window"]["open"] is True


def test_an_unsupported_message_without_a_timestamp_keeps_both_explanations(gw: Gateway) -> None:
    body = load("meta/messages/unsupported_131060")
    del body["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"]
    gw.deliver(body)
    [msg] = gw.all_messages()
    assert "131060" in msg["note"]
    assert _noted(msg)


def test_an_echo_without_a_timestamp_is_kept_at_the_receipt_time(gw: Gateway) -> None:
    body = load("meta/smb_message_echoes/text")
    del body["entry"][0]["changes"][0]["value"]["message_echoes"][0]["timestamp"]
    gw.deliver(body)
    [msg] = gw.all_messages()
    assert (msg["origin"], msg["text"]) == (
        "business_app",
        "Here's the info you requested! https://www.meta.com/quest/quest-3/",
    )
    assert _noted(msg)


def test_a_status_without_a_timestamp_moves_the_message_at_the_receipt_time(gw: Gateway) -> None:
    gw.deliver(p.echo("wamid.ST", CUSTOMER, 1_750_000_000, "see you at 8"))
    status = p.status("wamid.ST", "read", 0)
    del status["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"]
    gw.deliver(status)
    [msg] = gw.all_messages()
    assert msg["status"] == "read"
    assert msg["note"] is None  # the message itself had its time
    receipt_at = gw.scalar("SELECT max(received_at) FROM receipts")
    assert gw.scalar("SELECT status_at FROM messages WHERE wamid = 'wamid.ST'") == receipt_at
    event = gw.scalar("SELECT payload FROM events WHERE type = 'message.status'")
    assert (json.loads(event) if isinstance(event, str) else event)["timestamp"] == receipt_at
    # A status without a time for a message not seen yet: the placeholder says so.
    status["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = "wamid.UNSEEN"
    gw.deliver(status)
    placeholder = _by_wamid(gw)["wamid.UNSEEN"]
    assert (placeholder["origin"], placeholder["status"]) == ("api", "read")
    assert _noted(placeholder)


def test_a_history_message_without_a_timestamp_is_imported_at_the_receipt_time(gw: Gateway) -> None:
    untimed = p.hmsg("wamid.HNOTIME", CUSTOMER, 0, "from long ago")
    del untimed["timestamp"]
    timed = p.hmsg("wamid.HTIME", CUSTOMER, 1_739_230_955, "dated")
    gw.deliver(p.history(0, 1, 100, [{"id": CUSTOMER, "messages": [timed, untimed]}]))
    assert gw.get("/api/v1/unknown")["items"] == []
    msgs = _by_wamid(gw)
    assert msgs["wamid.HNOTIME"]["text"] == "from long ago"
    assert _noted(msgs["wamid.HNOTIME"])
    assert msgs["wamid.HTIME"]["note"] is None
    [conv] = gw.conversations()
    assert conv["counts"] == {"messages": 0, "history": 2, "unread": 0}


def test_a_history_chunk_without_a_timestamp_keeps_the_media_follow_up_time(gw: Gateway) -> None:
    gw.deliver(load("meta/history/media_followup"))
    chunk = load("meta/history/approved")
    thread = chunk["entry"][0]["changes"][0]["value"]["history"][0]["threads"][0]
    del thread["messages"][1]["timestamp"]  # the media placeholder
    gw.deliver(chunk)
    media = _by_wamid(gw)["wamid.QyNUEHBgLMTY0NjcwNDM1OTUVAgARGBI1Rj3NEYxMzAzMzQ5MkEA"]
    assert media["occurred_at"].startswith("2025-02-05")  # the follow-up's 1738796547
    assert media["note"] is None
