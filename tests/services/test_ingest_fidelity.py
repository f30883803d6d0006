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


# -- a system user_changed_number moves the person ----------------------------------------------

NEW = "12195555358"
CHANGED = "User Sheena Nelson changed from 16505551234 to 12195555358"


def _changed(old: str, new: str, ts: int, wamid: str = "wamid.K") -> dict[str, Any]:
    """Meta's system message (§2.5): from the old number, no contacts[]."""
    system = {
        "body": f"User Sheena Nelson changed from {old} to {new}",
        "wa_id": new,
        "type": "user_changed_number",
    }
    return p.inbound(wamid, old, ts, type_="system", content=system, name=None)


def _one_conversation(gw: Gateway) -> dict[str, Any]:
    assert gw.scalar("SELECT count(*) FROM contacts") == 1
    [conv] = gw.conversations()
    return conv


@pytest.mark.parametrize("fixture", ["system", "system_customer_changed_number"])
def test_a_number_change_moves_the_person_and_keeps_the_old_number_as_an_alias(
    gw: Gateway, fixture: str
) -> None:
    gw.deliver(p.inbound("wamid.BEFORE", CUSTOMER, 1_750_269_000, "my old phone", name="Sheena Nelson"))
    gw.deliver(load(f"meta/messages/{fixture}"))  # 1750269342
    gw.deliver(p.inbound("wamid.AFTER", NEW, 1_750_269_400, "my new phone", name="Sheena Nelson"))
    # A webhook from the old number delivered late (sent before the change) reaches the same person.
    gw.deliver(
        p.inbound("wamid.LATE", CUSTOMER, 1_750_269_100, "sent from the old phone", name="Sheena Nelson")
    )
    conv = _one_conversation(gw)
    contact = conv["contact"]
    assert (contact["wa_id"], contact["display_name"]) == (NEW, "Sheena Nelson")
    assert conv["counts"] == {"messages": 4, "history": 0, "unread": 3}  # the notice is never unread
    msgs = gw.messages(conv["id"])
    assert [m["wamid"] for m in msgs] == ["wamid.BEFORE", "wamid.LATE", msgs[2]["wamid"], "wamid.AFTER"]
    notice = msgs[2]
    assert (notice["type"], notice["direction"], notice["origin"], notice["status"]) == (
        "system",
        "inbound",
        "customer",
        "received",
    )
    assert notice["text"].endswith("from 16505551234 to 12195555358")  # system.body, as WhatsApp wrote it
    # The notice is not the customer writing: the window is the one the messages opened.
    assert gw.scalar("SELECT count(*) FROM events WHERE type = 'message.received'") == 4


def test_a_number_change_that_arrives_after_the_new_number_wrote_merges_the_two(gw: Gateway) -> None:
    gw.deliver(p.inbound("wamid.OLD1", CUSTOMER, 1_750_269_000, "old phone", name="Sheena Nelson"))
    gw.deliver(
        p.inbound("wamid.NEW1", NEW, 1_750_269_400, "new phone", name="Sheena N.")
    )  # before the notice
    assert len(gw.conversations()) == 2
    gw.deliver(load("meta/messages/system"))
    conv = _one_conversation(gw)
    assert conv["contact"]["wa_id"] == NEW
    # Merged into the older contact, which keeps its names (see ingest.md, merging).
    assert conv["contact"]["names"]["profile"] == "Sheena Nelson"
    assert conv["counts"] == {"messages": 3, "history": 0, "unread": 2}
    assert [m["wamid"] for m in gw.messages(conv["id"])] == ["wamid.OLD1", "wamid.K", "wamid.NEW1"]
    # Both numbers keep reaching her, and history threads under the old number too.
    gw.deliver(p.inbound("wamid.NEW2", NEW, 1_750_269_500, "again"))
    gw.deliver(
        p.history(1, 1, 100, [{"id": CUSTOMER, "messages": [p.hmsg("wamid.H", p.BIZ, 1_700_000_000)]}])
    )
    conv = _one_conversation(gw)
    assert conv["counts"] == {"messages": 4, "history": 1, "unread": 3}


def test_a_number_change_for_a_customer_never_seen_creates_them_under_the_new_number(gw: Gateway) -> None:
    gw.deliver(load("meta/messages/system"))
    conv = _one_conversation(gw)
    assert conv["contact"]["wa_id"] == NEW
    assert conv["contact"]["display_name"] == NEW
    assert conv["counts"] == {"messages": 1, "history": 0, "unread": 0}
    [notice] = gw.messages(conv["id"])
    assert notice["text"] == CHANGED
    gw.deliver(p.inbound("wamid.LATE", CUSTOMER, 1_750_269_100, "sent before the change", name="Sheena"))
    conv = _one_conversation(gw)
    assert (conv["contact"]["wa_id"], conv["contact"]["display_name"]) == (NEW, "Sheena")
    assert conv["counts"]["messages"] == 2


def test_an_older_number_change_delivered_late_does_not_undo_a_newer_one(gw: Gateway) -> None:
    third = "447700900123"
    gw.deliver(p.inbound("wamid.A", CUSTOMER, 1_750_000_000, "from A", name="Sheena Nelson"))
    gw.deliver(_changed(NEW, third, 1_750_200_000, "wamid.K2"))  # B -> C arrives first
    gw.deliver(_changed(CUSTOMER, NEW, 1_750_100_000, "wamid.K1"))  # A -> B, older, arrives late
    conv = _one_conversation(gw)
    assert conv["contact"]["wa_id"] == third
    for wamid, frm in (("wamid.FROM_A", CUSTOMER), ("wamid.FROM_B", NEW), ("wamid.FROM_C", third)):
        gw.deliver(p.inbound(wamid, frm, 1_750_300_000, "hello"))
    conv = _one_conversation(gw)
    assert conv["contact"]["wa_id"] == third
    assert conv["counts"] == {"messages": 6, "history": 0, "unread": 4}
    # Replaying every receipt changes nothing.
    events = gw.scalar("SELECT count(*) FROM events")
    with gw.container.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE receipts SET state = 'pending', next_attempt_at = 0")
    assert gw.drain().done == 6
    conv = _one_conversation(gw)
    assert conv["contact"]["wa_id"] == third
    assert conv["counts"] == {"messages": 6, "history": 0, "unread": 4}
    assert gw.scalar("SELECT count(*) FROM events") == events


def test_a_number_change_back_to_an_earlier_number_keeps_one_person(gw: Gateway) -> None:
    gw.deliver(_changed(CUSTOMER, NEW, 1_750_100_000, "wamid.K1"))
    gw.deliver(_changed(NEW, CUSTOMER, 1_750_200_000, "wamid.K2"))
    conv = _one_conversation(gw)
    assert conv["contact"]["wa_id"] == CUSTOMER
    gw.deliver(p.inbound("wamid.VIA_NEW", NEW, 1_750_150_000, "late, from the number she left"))
    assert _one_conversation(gw)["counts"]["messages"] == 3
