"""Field `messages`: every documented inbound type, statuses, BSUIDs and value-level errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.data import load
from wacoex.domain.enums import MessageStatus
from wacoex.domain.facts import ErrorsReported, InboundMessage, StatusUpdate, Unknown
from wacoex.whatsapp.envelope import parse_meta

BUSINESS = "15550783881"
CUSTOMER = "16505551234"


def one_message(name: str) -> InboundMessage:
    facts = parse_meta(load(f"meta/messages/{name}"))
    assert len(facts) == 1
    fact = facts[0]
    assert isinstance(fact, InboundMessage), fact
    return fact


def one_status(name: str) -> StatusUpdate:
    facts = parse_meta(load(f"meta/messages/{name}"))
    assert len(facts) == 1
    fact = facts[0]
    assert isinstance(fact, StatusUpdate), fact
    return fact


@pytest.mark.parametrize(
    ("name", "msg_type", "text"),
    [
        ("text", "text", "Does it come in another color?"),
        ("text_item", "text", "Does it come in another color?"),
        ("image", "image", "Taj Mahal"),
        ("audio", "audio", None),
        ("video", "video", "optional"),
        ("document", "document", "optional"),
        ("sticker", "sticker", None),
        ("location", "location", None),
        ("contacts", "contacts", None),
        ("interactive_button_reply", "interactive", "Cancel"),
        ("interactive_list_reply", "interactive", "Priority Mail Express"),
        ("interactive_nfm_reply", "interactive", "Sent"),
        ("button", "button", "Unsubscribe"),
        ("reaction", "reaction", None),
        ("order", "order", None),
        ("system", "system", "User Sheena Nelson changed from 16505551234 to 12195555358"),
        ("referral", "text", "Hello! Can I get more info on this?"),
        ("edit", "edit", "Updated image caption"),
        ("revoke", "revoke", None),
        ("unsupported_131051", "unsupported", None),
        ("unsupported_131060", "unsupported", None),
    ],
)
def test_every_documented_inbound_type_becomes_a_message_with_its_text(
    name: str, msg_type: str, text: str | None
) -> None:
    body = load(f"meta/messages/{name}")
    item = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message = one_message(name)
    assert message.type == msg_type
    assert message.text == text
    assert message.wamid == item["id"]
    assert message.from_wa_id == CUSTOMER
    assert message.timestamp == int(item["timestamp"])
    assert message.content == item.get(msg_type)
    assert message.raw == item
    assert message.source.field == "messages"
    assert message.source.waba_id == "102290129340398"
    assert message.source.phone_number_id == "106540352242922"
    assert message.source.display_phone_number == BUSINESS


def test_profile_name_comes_from_the_matching_contact() -> None:
    message = one_message("text")
    assert message.profile is not None
    assert message.profile.profile_name == "Sheena Nelson"
    assert message.profile.wa_id == CUSTOMER


def test_system_message_has_no_profile_because_system_has_no_contacts() -> None:
    message = one_message("system")
    assert message.profile is None
    assert message.content["type"] == "user_changed_number"


def test_interactive_and_button_replies_keep_the_quoted_business_message() -> None:
    assert one_message("interactive_button_reply").reply_to == "wamid.BIZ1"
    assert one_message("interactive_list_reply").reply_to == "wamid.BIZ2"
    button = one_message("button")
    assert button.reply_to == "wamid.TPL"
    assert button.context == {"from": BUSINESS, "id": "wamid.TPL"}


def test_message_without_context_has_no_reply_to() -> None:
    message = one_message("text")
    assert message.reply_to is None
    assert message.context is None


def test_contacts_message_content_is_the_list_as_received() -> None:
    message = one_message("contacts")
    assert isinstance(message.content, list)
    assert message.content[0]["phones"][0]["wa_id"] == "19835552319"


def test_referral_is_kept_on_the_first_message_from_an_ad() -> None:
    message = one_message("referral")
    assert message.referral is not None
    assert message.referral["source_type"] == "ad"
    assert message.referral["ctwa_clid"].startswith("Aff-")


def test_edit_content_names_the_original_and_the_new_version() -> None:
    message = one_message("edit")
    assert message.content["original_message_id"].startswith("wamid.HBgLMTQxMjU1")
    assert message.content["message"]["type"] == "image"
    # The nested context belongs to the new version, not to the edit event.
    assert message.reply_to is None


def test_revoke_names_the_revoked_message() -> None:
    message = one_message("revoke")
    assert message.content == {
        "original_message_id": "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
    }


@pytest.mark.parametrize(("name", "code"), [("unsupported_131051", 131051), ("unsupported_131060", 131060)])
def test_unsupported_messages_are_kept_with_their_error_code(name: str, code: int) -> None:
    message = one_message(name)
    assert message.content is None
    assert [e["code"] for e in message.errors] == [code]


def test_reaction_content_names_the_message_and_emoji() -> None:
    message = one_message("reaction")
    assert message.content["emoji"] == "👍"
    assert message.content["message_id"].startswith("wamid.")


def test_unknown_message_type_is_kept_with_its_type_and_object() -> None:
    message = one_message("unknown_type")
    assert message.type == "hologram"
    assert message.content == {"shape": "cube"}
    assert message.text is None


def test_bsuid_comes_from_the_message_and_the_contact() -> None:
    message = one_message("bsuid_text")
    assert message.from_user_id == "US.13491208655302741918"
    assert message.profile is not None
    assert message.profile.parent_user_id == "US.ENT.11815799212886844830"


def test_phone_withheld_message_is_identified_by_bsuid_only() -> None:
    message = one_message("bsuid_phone_withheld")
    assert message.from_wa_id is None
    assert message.from_user_id == "BR.1502576394655843"
    assert message.profile is not None
    assert message.profile.profile_name == "Ana"


def test_bsuid_is_taken_from_contacts_when_the_message_lacks_from_user_id() -> None:
    body = load("meta/messages/bsuid_text")
    del body["entry"][0]["changes"][0]["value"]["messages"][0]["from_user_id"]
    [message] = parse_meta(body)
    assert isinstance(message, InboundMessage)
    assert message.from_user_id == "US.13491208655302741918"


# --- statuses -----------------------------------------------------------------------------------


def test_sent_status_carries_pricing_and_conversation() -> None:
    status = one_status("status_sent")
    assert status.status is MessageStatus.SENT
    assert status.status_raw == "sent"
    assert status.wamid == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
    assert status.timestamp == 1750030073
    assert status.recipient_id == CUSTOMER
    assert status.pricing == {
        "billable": True,
        "pricing_model": "PMP",
        "type": "regular",
        "category": "marketing",
    }
    assert status.conversation is not None
    assert status.conversation["origin"] == {"type": "marketing"}
    assert status.errors == ()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("status_delivered", MessageStatus.DELIVERED),
        ("status_read", MessageStatus.READ),
        ("status_played", MessageStatus.PLAYED),
    ],
)
def test_each_status_value_maps_to_its_enum(name: str, expected: MessageStatus) -> None:
    assert one_status(name).status is expected


def test_failed_status_keeps_its_error() -> None:
    status = one_status("status_failed")
    assert status.status is MessageStatus.FAILED
    assert [e["code"] for e in status.errors] == [131049]
    assert status.errors[0]["href"] == "/documentation/business-messaging/whatsapp/support/error-codes"


@pytest.mark.parametrize(
    ("name", "pricing_type", "category"),
    [
        ("status_pricing_free_customer_service_service", "free_customer_service", "service"),
        ("status_pricing_free_customer_service_utility", "free_customer_service", "utility"),
        ("status_pricing_free_entry_point", "free_entry_point", "referral_conversion"),
    ],
)
def test_pricing_variants_are_kept_as_sent(name: str, pricing_type: str, category: str) -> None:
    pricing = one_status(name).pricing
    assert pricing is not None
    assert (pricing["type"], pricing["category"], pricing["billable"]) == (pricing_type, category, False)


def test_unknown_status_value_is_kept_raw_with_unknown_enum() -> None:
    body = load("meta/messages/status_read")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "deleted"
    [status] = parse_meta(body)
    assert isinstance(status, StatusUpdate)
    assert status.status is MessageStatus.UNKNOWN
    assert status.status_raw == "deleted"


def test_status_recipient_bsuid_comes_from_contacts() -> None:
    body = load("meta/messages/status_read")
    body["entry"][0]["changes"][0]["value"]["contacts"] = [
        {"wa_id": CUSTOMER, "user_id": "US.13491208655302741918"}
    ]
    [status] = parse_meta(body)
    assert isinstance(status, StatusUpdate)
    assert status.recipient_user_id == "US.13491208655302741918"


@pytest.mark.parametrize("name", ["system", "system_customer_changed_number"])
def test_a_number_change_names_the_new_number(name: str) -> None:
    message = one_message(name)
    assert (message.from_wa_id, message.new_wa_id) == (CUSTOMER, "12195555358")
    assert message.profile is None  # system messages carry no contacts[]


def test_a_number_change_without_a_usable_new_number_moves_nobody() -> None:
    body = load("meta/messages/system")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["system"]["wa_id"] = "unknown"
    [message] = parse_meta(body)
    assert isinstance(message, InboundMessage)
    assert message.new_wa_id is None


def test_other_system_messages_move_nobody() -> None:
    body = load("meta/messages/system")
    system = body["entry"][0]["changes"][0]["value"]["messages"][0]["system"]
    system.update(type="customer_identity_changed", body="User's security code changed", identity="a1b2")
    [message] = parse_meta(body)
    assert isinstance(message, InboundMessage)
    assert (message.text, message.new_wa_id) == ("User's security code changed", None)


def test_status_contacts_name_the_recipient() -> None:
    status = one_status("status_with_contacts")
    assert status.profile is not None
    assert (status.profile.wa_id, status.profile.profile_name) == (CUSTOMER, "Sheena Nelson")


def test_status_never_takes_a_contact_that_names_somebody_else() -> None:
    body = load("meta/messages/status_with_contacts")
    body["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = "12125557890"
    [status] = parse_meta(body)
    assert isinstance(status, StatusUpdate)
    assert status.profile is None


# --- value-level errors and odd shapes ----------------------------------------------------------


def test_value_errors_become_an_errors_reported_fact() -> None:
    [fact] = parse_meta(load("meta/messages/value_errors"))
    assert isinstance(fact, ErrorsReported)
    assert fact.errors[0]["code"] == 130429
    assert fact.source.phone_number_id == "106540352242922"


def _with_items(**value: Any) -> dict[str, Any]:
    return {"entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"from": CUSTOMER, "timestamp": "1", "type": "text"}, "messages[0]: missing or non-string id"),
        (
            {"id": 5, "from": CUSTOMER, "timestamp": "1", "type": "text"},
            "messages[0]: missing or non-string id",
        ),
        ({"id": "wamid.X", "timestamp": "1"}, "messages[0]: missing or non-string type"),
        ("wamid.X", "messages[0]: not an object"),
    ],
)
def test_message_of_unexpected_shape_becomes_unknown_with_a_reason(item: Any, reason: str) -> None:
    [fact] = parse_meta(_with_items(messages=[item]))
    assert isinstance(fact, Unknown)
    assert fact.reason == reason
    assert fact.raw == item


@pytest.mark.parametrize("timestamp", [None, "soon", "", {"at": 1}])
def test_a_message_or_status_without_a_readable_timestamp_is_kept(timestamp: Any) -> None:
    item = {"id": "wamid.X", "from": CUSTOMER, "type": "text", "text": {"body": "hi"}, "timestamp": timestamp}
    status = {"id": "wamid.Y", "status": "read", "recipient_id": CUSTOMER, "timestamp": timestamp}
    if timestamp is None:
        del item["timestamp"], status["timestamp"]
    message, update = parse_meta(_with_items(messages=[item], statuses=[status]))
    assert isinstance(message, InboundMessage)
    assert (message.text, message.timestamp) == ("hi", None)
    assert isinstance(update, StatusUpdate)
    assert update.timestamp is None


def test_one_bad_message_does_not_hide_its_neighbours() -> None:
    good = {
        "id": "wamid.OK",
        "from": CUSTOMER,
        "timestamp": 1750000000,
        "type": "text",
        "text": {"body": "hi"},
    }
    facts = parse_meta(_with_items(messages=[{"type": "text"}, good, None]))
    assert [type(f) for f in facts] == [Unknown, InboundMessage, Unknown]
    assert isinstance(facts[1], InboundMessage)
    assert facts[1].timestamp == 1750000000


def test_status_without_status_value_becomes_unknown() -> None:
    [fact] = parse_meta(_with_items(statuses=[{"id": "wamid.X", "timestamp": "1"}]))
    assert isinstance(fact, Unknown)
    assert fact.reason == "statuses[0]: missing or non-string status"


def test_value_with_nothing_we_read_becomes_unknown() -> None:
    [fact] = parse_meta(_with_items(contacts=[{"wa_id": CUSTOMER}]))
    assert isinstance(fact, Unknown)
    assert fact.reason == "messages change without messages, statuses or errors"


def test_messages_that_is_not_a_list_becomes_unknown() -> None:
    [fact] = parse_meta(_with_items(messages={"id": "wamid.X"}))
    assert isinstance(fact, Unknown)
    assert fact.reason == "messages: not a list"
