"""Live traffic: batches, duplicates, statuses, echoes, edits, unsupported messages."""

from __future__ import annotations

from pathlib import Path

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


def test_every_entry_change_and_item_of_a_batch_is_applied(gw: Gateway) -> None:
    gw.register(
        phone_number_id="208811223344556", display_phone_number="15557770000", waba_id="205837419026611"
    )
    result = gw.deliver(load("meta/batched"))
    # Everything for served numbers is applied; the account_update names a WABA we do not serve yet,
    # so the receipt is held (not dropped) until that number is registered.
    assert result.held == 1
    assert gw.scalar("SELECT waiting_for FROM receipts").count("waba:862475293675413") == 1
    # two customer messages; the third item is a reaction, and the echoes are a revoke and an edit of a
    # message we have not seen: those mutations wait on placeholders for their targets
    assert gw.scalar("SELECT count(*) FROM messages WHERE origin = 'customer'") == 2
    assert gw.scalar("SELECT count(*) FROM messages WHERE placeholder AND pending_edit IS NOT NULL") == 2
    assert gw.scalar("SELECT count(*) FROM messages WHERE origin = 'history'") >= 1
    assert gw.scalar("SELECT count(*) FROM contacts WHERE book_full_name IS NOT NULL OR book_removed") >= 1
    # the status items were applied too (to placeholders or to the batch's messages)
    assert (
        gw.scalar("SELECT count(*) FROM messages WHERE status IN ('sent','delivered','read','failed')") >= 2
    )
    # the unknown field is kept, not dropped
    assert gw.scalar("SELECT count(*) FROM unknown_items WHERE field = 'phone_number_quality_update'") == 1
    gw.register(phone_number_id="777", display_phone_number="15550001111", waba_id="862475293675413")
    assert gw.drain().done == 1
    assert gw.scalar("SELECT count(*) FROM account_events") == 1
    # re-applying the whole receipt duplicated nothing
    assert gw.scalar("SELECT count(*) FROM messages WHERE origin = 'customer'") == 2
    assert gw.scalar("SELECT count(*) FROM unknown_items WHERE field = 'phone_number_quality_update'") == 1


def test_the_same_receipt_three_times_is_stored_once(gw: Gateway) -> None:
    body = p.inbound("wamid.DUP", CUSTOMER, 1750000000, "once")
    for _ in range(3):
        assert gw.post(body).status_code == 200
    gw.drain()
    assert gw.scalar("SELECT count(*) FROM receipts") == 3
    assert gw.scalar("SELECT count(*) FROM messages") == 1
    [conv] = gw.conversations()
    assert conv["counts"] == {"messages": 1, "history": 0, "unread": 1}
    assert gw.scalar("SELECT count(*) FROM events WHERE type = 'message.received'") == 1


def test_inbound_message_opens_the_window_and_counts_unread(gw: Gateway) -> None:
    import time

    now = int(time.time())
    gw.deliver(p.inbound("wamid.A", CUSTOMER, now - 3600, "Does it come in another color?", name="Sheena"))
    [conv] = gw.conversations()
    assert conv["window"]["open"] is True
    assert conv["contact"]["names"]["profile"] == "Sheena"
    [msg] = gw.messages(conv["id"])
    assert (msg["direction"], msg["origin"], msg["type"], msg["text"]) == (
        "inbound",
        "customer",
        "text",
        "Does it come in another color?",
    )
    assert msg["occurred_at"].startswith(time.strftime("%Y-%m-%d", time.gmtime(now - 3600)))


def test_window_closes_24_hours_after_the_last_customer_message(gw: Gateway) -> None:
    gw.deliver(p.inbound("wamid.OLD", CUSTOMER, 1_600_000_000))
    [conv] = gw.conversations()
    assert conv["window"]["open"] is False
    assert conv["window"]["expires_at"].startswith("2020-09-14")


def test_late_delivered_never_downgrades_read(gw: Gateway) -> None:
    gw.deliver(p.status("wamid.S1", "sent", 100))
    gw.deliver(p.status("wamid.S1", "read", 300))
    gw.deliver(p.status("wamid.S1", "delivered", 200))
    gw.deliver(p.status("wamid.S1", "sent", 100))
    [msg] = gw.all_messages()
    assert msg["status"] == "read"
    assert msg["origin"] == "api"
    assert msg["placeholder"] is True


def test_failed_keeps_its_error_and_is_terminal(gw: Gateway) -> None:
    gw.deliver(load("meta/messages/status_failed"))
    [msg] = gw.all_messages()
    assert msg["status"] == "failed"
    assert msg["errors"][0]["code"] == 131049
    gw.deliver(p.status(msg["wamid"], "delivered", 1751142999))
    [msg] = gw.all_messages()
    assert msg["status"] == "failed"


def test_status_pricing_is_kept(gw: Gateway) -> None:
    gw.deliver(load("meta/messages/status_sent"))
    [msg] = gw.all_messages()
    assert msg["pricing"]["category"] == "marketing"


def test_echo_is_outbound_from_the_phone_and_never_opens_the_window(gw: Gateway) -> None:
    import time

    gw.deliver(p.echo("wamid.E1", "+" + CUSTOMER, int(time.time()), "I'll check"))
    [conv] = gw.conversations()
    assert conv["window"]["open"] is False
    assert conv["window"]["expires_at"] is None
    [msg] = gw.messages(conv["id"])
    assert (msg["direction"], msg["origin"], msg["text"]) == ("outbound", "business_app", "I'll check")
    assert gw.scalar("SELECT count(*) FROM events WHERE type = 'message.echo'") == 1


def test_echo_keeps_the_quoted_reply_and_resets_unread(gw: Gateway) -> None:
    gw.deliver(p.inbound("wamid.Q", CUSTOMER, 1750000000, "question"))
    gw.deliver(p.echo("wamid.R", CUSTOMER, 1750000100, "answer", context={"id": "wamid.Q"}))
    [conv] = gw.conversations()
    assert conv["counts"]["unread"] == 0
    msgs = gw.messages(conv["id"])
    assert [m["wamid"] for m in msgs] == ["wamid.Q", "wamid.R"]
    assert msgs[1]["reply_to"] == "wamid.Q"


def test_echo_edit_and_revoke_apply_to_the_original(gw: Gateway) -> None:
    original = "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
    gw.deliver(
        p.echo(
            original,
            CUSTOMER,
            1749854000,
            type_="image",
            content={"caption": "Old caption", "mime_type": "image/jpeg", "sha256": "x", "id": "1"},
        )
    )
    gw.deliver(load("meta/smb_message_echoes/edit"))
    [msg] = gw.all_messages()
    assert msg["edited"] is True
    assert msg["text"] == "Updated image caption"
    gw.deliver(load("meta/smb_message_echoes/revoke"))
    [msg] = gw.all_messages()
    assert msg["revoked"] is True
    assert gw.scalar("SELECT count(*) FROM messages") == 1


def test_edit_that_arrives_before_its_message_is_applied_when_the_message_comes(gw: Gateway) -> None:
    gw.deliver(
        p.inbound(
            "wamid.EDIT",
            CUSTOMER,
            1750000100,
            type_="edit",
            content={
                "original_message_id": "wamid.ORIG",
                "message": {"type": "text", "text": {"body": "fixed typo"}},
            },
        )
    )
    gw.deliver(p.inbound("wamid.ORIG", CUSTOMER, 1750000000, "fixd typo"))
    [msg] = gw.all_messages()
    assert (msg["wamid"], msg["text"], msg["edited"], msg["placeholder"]) == (
        "wamid.ORIG",
        "fixed typo",
        True,
        False,
    )
    assert msg["origin"] == "customer"
    assert msg["direction"] == "inbound"


def test_customer_reaction_is_recorded_on_the_target(gw: Gateway) -> None:
    gw.deliver(p.echo("wamid.T", CUSTOMER, 1750000000, "our offer"))
    gw.deliver(
        p.inbound(
            "wamid.RX",
            CUSTOMER,
            1750000050,
            type_="reaction",
            content={"message_id": "wamid.T", "emoji": "👍"},
        )
    )
    [msg] = gw.all_messages()
    assert msg["reactions"] == {CUSTOMER: "👍"}


def test_unsupported_messages_are_kept_with_an_explanation(gw: Gateway) -> None:
    gw.deliver(load("meta/messages/unsupported_131060"))
    [msg] = gw.all_messages()
    assert msg["type"] == "unsupported"
    assert "131060" in msg["note"]
    assert "Business app" in msg["note"]


@pytest.mark.parametrize(
    "name",
    [
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "interactive_button_reply",
        "interactive_list_reply",
        "interactive_nfm_reply",
        "button",
        "order",
        "referral",
        "system",
        "unknown_type",
    ],
)
def test_every_inbound_type_is_stored_with_its_content(gw: Gateway, name: str) -> None:
    body = load(f"meta/messages/{name}")
    item = body["entry"][0]["changes"][0]["value"]["messages"][0]
    gw.deliver(body)
    stored = [m for m in gw.all_messages() if m["wamid"] == item["id"]]
    assert len(stored) == 1
    assert stored[0]["type"] == item["type"]
    assert stored[0]["content"] == item.get(item["type"])


def test_an_echo_whose_status_came_first_still_counts_as_the_owner_answering(gw: Gateway) -> None:
    gw.deliver(p.inbound("wamid.ASK", CUSTOMER, 1_750_000_000, "anyone there?"))
    gw.deliver(p.status("wamid.ANS", "delivered", 1_750_000_060, recipient=CUSTOMER))
    gw.deliver(p.echo("wamid.ANS", CUSTOMER, 1_750_000_050, "yes, here"))
    [conv] = gw.conversations()
    assert conv["counts"] == {"messages": 2, "history": 0, "unread": 0}
    [_, answer] = gw.messages(conv["id"])
    assert (answer["origin"], answer["text"], answer["status"]) == ("business_app", "yes, here", "delivered")
    assert gw.scalar("SELECT count(*) FROM events WHERE type = 'message.echo'") == 1


def test_reapplying_a_receipt_records_no_new_events(gw: Gateway) -> None:
    gw.deliver(p.echo("wamid.T", CUSTOMER, 1_750_000_000, "offer"))
    mutations = p.envelope(
        "messages",
        {
            "messages": [
                {
                    "from": CUSTOMER,
                    "id": "wamid.RX",
                    "timestamp": "1750000010",
                    "type": "reaction",
                    "reaction": {"message_id": "wamid.T", "emoji": "🎉"},
                },
            ]
        },
    )
    echo_edit = p.echo(
        "wamid.ED",
        CUSTOMER,
        1_750_000_020,
        type_="edit",
        content={
            "original_message_id": "wamid.T",
            "message": {"type": "text", "text": {"body": "better offer"}},
        },
    )
    gw.deliver(mutations)
    gw.deliver(echo_edit)
    gw.deliver(p.history(0, 1, 100, []))
    events = gw.scalar("SELECT count(*) FROM events")
    with gw.container.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE receipts SET state = 'pending', next_attempt_at = 0")
    assert gw.drain().done == 4
    assert gw.scalar("SELECT count(*) FROM events") == events
    [msg] = gw.all_messages()
    assert msg["text"] == "better offer"
    assert msg["reactions"] == {CUSTOMER: "🎉"}


def test_mutation_events_name_their_number_and_conversation(gw: Gateway) -> None:
    gw.deliver(
        p.inbound(
            "wamid.REV",
            CUSTOMER,
            1_750_000_100,
            type_="revoke",
            content={"original_message_id": "wamid.ORIG2"},
        )
    )
    gw.deliver(p.inbound("wamid.ORIG2", CUSTOMER, 1_750_000_000, "oops"))
    row = gw.scalar(
        "SELECT number_id || ':' || coalesce(conversation_id, 0) FROM events WHERE type = 'message.revoked'"
    )
    number_id, conversation_id = row.split(":")
    assert int(number_id) > 0
    assert int(conversation_id) > 0


def test_a_late_older_reaction_never_replaces_a_newer_one(gw: Gateway) -> None:
    gw.deliver(p.echo("wamid.OFFER", CUSTOMER, 1_750_000_000, "two for one"))

    def react(wamid: str, ts: int, emoji: str) -> None:
        gw.deliver(
            p.inbound(
                wamid, CUSTOMER, ts, type_="reaction", content={"message_id": "wamid.OFFER", "emoji": emoji}
            )
        )

    react("wamid.R2", 1_750_000_200, "❤️")
    react("wamid.R1", 1_750_000_100, "👍")  # older, delivered late
    [msg] = gw.all_messages()
    assert msg["reactions"] == {CUSTOMER: "❤️"}
    react("wamid.R3", 1_750_000_300, "")  # removed
    [msg] = gw.all_messages()
    assert msg["reactions"] is None
    assert gw.scalar("SELECT count(*) FROM events WHERE type = 'message.reaction'") == 2
