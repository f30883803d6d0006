"""Shapes real webhooks take beyond the happy path: number changes, names on statuses, missing
timestamps, history without history_context, statuses that name a customer's message."""

from __future__ import annotations

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
