"""Values the record cannot keep are refused or dropped where they are read, the same for every database."""

from __future__ import annotations

import orjson
import pytest

from tests import payloads as p
from wacoex.domain.facts import InboundMessage, Unknown
from wacoex.whatsapp.bodies import parse_bytes
from wacoex.whatsapp.fields._common import identity_problem, to_int, to_int32


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1760000000, 1760000000),
        ("1760000000", 1760000000),
        ("1.0", 1),
        (2**53, 2**53),
        (-(2**53), -(2**53)),
        (2**53 + 1, None),
        ("99999999999999999999", None),
        (1.2e29, None),
        ("1e400", None),
        ("9" * 5000, None),
        (True, None),
        ({}, None),
    ],
)
def test_to_int_reads_integers_a_json_reader_keeps_exactly(value: object, expected: int | None) -> None:
    assert to_int(value) == expected


def test_to_int32_reads_what_a_32_bit_column_keeps() -> None:
    assert (to_int32("2147483647"), to_int32(2**31), to_int32(1 - 2**31)) == (2**31 - 1, None, 1 - 2**31)


def test_identity_problem_counts_digits_not_characters() -> None:
    assert identity_problem("from", "+1 (650) 555-1234", "from_user_id", None) is None
    assert identity_problem("from", "1" * 33, "from_user_id", None) == "from has more than 32 digits"
    assert identity_problem("to", None, "to_user_id", "US." + "1" * 158) == (
        "to_user_id is longer than 160 characters"
    )


def test_nul_characters_are_removed_from_every_string_of_a_body() -> None:
    body = p.inbound("wamid.A\u0000", "1650\u00005551234", 1760000000, "hi\u0000 there", name="A\u0000na")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["x\u0000"] = ["\u0000", {"k\u0000": "v\u0000"}]
    [fact] = parse_bytes(orjson.dumps(body), "meta")
    assert isinstance(fact, InboundMessage)
    assert (fact.wamid, fact.from_wa_id, fact.text) == ("wamid.A", "16505551234", "hi there")
    assert fact.profile is not None
    assert fact.profile.profile_name == "Ana"
    assert fact.raw["x"] == ["", {"k": "v"}]


def test_an_escaped_backslash_before_u0000_is_no_nul() -> None:
    raw = orjson.dumps(p.inbound("wamid.A", "16505551234", 1760000000, "\\u0000"))
    [fact] = parse_bytes(raw, "meta")
    assert isinstance(fact, InboundMessage)
    assert fact.text == "\\u0000"


def test_a_message_with_an_id_longer_than_a_wamid_is_unknown() -> None:
    [fact] = parse_bytes(orjson.dumps(p.inbound("w" * 256, "16505551234", 1760000000)), "meta")
    assert isinstance(fact, Unknown)
    assert fact.reason == "messages[0]: id longer than 255 characters"
