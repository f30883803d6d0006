"""Field `smb_message_echoes`: text, media, edit, revoke, with and without contacts[], BSUID variants."""

from __future__ import annotations

import pytest

from tests.data import load
from wacoex.domain.facts import Echo, Unknown
from wacoex.whatsapp.envelope import parse_meta

BUSINESS = "15550783881"
CUSTOMER = "16505551234"


def one_echo(name: str) -> Echo:
    facts = parse_meta(load(f"meta/smb_message_echoes/{name}"))
    assert len(facts) == 1
    fact = facts[0]
    assert isinstance(fact, Echo), fact
    return fact


@pytest.mark.parametrize(
    ("name", "msg_type", "text"),
    [
        ("text", "text", "Here's the info you requested! https://www.meta.com/quest/quest-3/"),
        ("image", "image", "New arrivals"),
        ("document_reply", "document", "Your invoice"),
        ("edit", "edit", "Updated image caption"),
        ("revoke", "revoke", None),
    ],
)
def test_every_echo_type_becomes_an_echo_with_its_text(name: str, msg_type: str, text: str | None) -> None:
    item = load(f"meta/smb_message_echoes/{name}")["entry"][0]["changes"][0]["value"]["message_echoes"][0]
    echo = one_echo(name)
    assert echo.type == msg_type
    assert echo.text == text
    assert echo.wamid == item["id"]
    assert echo.from_number == BUSINESS
    assert echo.to == CUSTOMER
    assert echo.timestamp == int(item["timestamp"])
    assert echo.content == item[msg_type]
    assert echo.raw == item
    assert echo.source.field == "smb_message_echoes"
    assert echo.source.phone_number_id == "106540352242922"


def test_echo_without_contacts_has_no_profile() -> None:
    echo = one_echo("text")
    assert echo.profile is None
    assert echo.to_user_id is None


def test_echo_with_contacts_gets_the_recipient_profile() -> None:
    echo = one_echo("with_contacts")
    assert echo.profile is not None
    assert echo.profile.profile_name == "Sheena Nelson"
    assert echo.profile.wa_id == CUSTOMER


def test_to_with_plus_is_kept_as_given_and_still_matches_contacts() -> None:
    body = load("meta/smb_message_echoes/to_with_plus")
    body["entry"][0]["changes"][0]["value"]["contacts"] = [{"profile": {"name": "Sheena"}, "wa_id": CUSTOMER}]
    [echo] = parse_meta(body)
    assert isinstance(echo, Echo)
    assert echo.to == "+16505551234"
    assert echo.profile is not None
    assert echo.profile.profile_name == "Sheena"


def test_quoted_reply_from_the_phone_keeps_reply_to() -> None:
    echo = one_echo("document_reply")
    assert echo.reply_to == "wamid.CUSTQ"
    assert echo.context == {"from": CUSTOMER, "id": "wamid.CUSTQ"}


def test_edit_and_revoke_echoes_name_the_original_message() -> None:
    original = "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
    assert one_echo("edit").content["original_message_id"] == original
    assert one_echo("revoke").content["original_message_id"] == original


def test_bsuid_echo_carries_to_user_id_and_parent_from_contacts() -> None:
    echo = one_echo("bsuid")
    assert echo.to_user_id == "US.13491208655302741918"
    assert echo.profile is not None
    assert echo.profile.user_id == "US.13491208655302741918"
    assert echo.profile.parent_user_id == "US.ENT.11815799212886844830"


def test_bsuid_echo_without_to_or_contacts_is_identified_by_to_user_id() -> None:
    echo = one_echo("bsuid_without_to")
    assert echo.to is None
    assert echo.to_user_id == "BR.1502576394655843"
    assert echo.profile is not None
    assert echo.profile.user_id == "BR.1502576394655843"
    assert echo.profile.profile_name is None


def test_unlisted_echo_type_is_kept_with_its_object() -> None:
    body = load("meta/smb_message_echoes/text")
    item = body["entry"][0]["changes"][0]["value"]["message_echoes"][0]
    item["type"] = "audio"
    item["audio"] = {"id": "777", "mime_type": "audio/ogg", "voice": True}
    [echo] = parse_meta(body)
    assert isinstance(echo, Echo)
    assert echo.type == "audio"
    assert echo.content == {"id": "777", "mime_type": "audio/ogg", "voice": True}


def test_echo_with_integer_timestamp_is_accepted() -> None:
    body = load("meta/smb_message_echoes/text")
    body["entry"][0]["changes"][0]["value"]["message_echoes"][0]["timestamp"] = 1739321024
    [echo] = parse_meta(body)
    assert isinstance(echo, Echo)
    assert echo.timestamp == 1739321024


def test_echo_without_id_becomes_unknown() -> None:
    body = load("meta/smb_message_echoes/text")
    del body["entry"][0]["changes"][0]["value"]["message_echoes"][0]["id"]
    [fact] = parse_meta(body)
    assert isinstance(fact, Unknown)
    assert fact.reason == "message_echoes[0]: missing or non-string id"


def test_echo_change_without_echoes_becomes_unknown() -> None:
    body = {"entry": [{"id": "1", "changes": [{"field": "smb_message_echoes", "value": {"metadata": {}}}]}]}
    [fact] = parse_meta(body)
    assert isinstance(fact, Unknown)
    assert fact.reason == "smb_message_echoes change without message_echoes"
