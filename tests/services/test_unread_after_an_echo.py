"""Unread counts what the customer wrote after the business last answered, in the order of the facts."""

from __future__ import annotations

from pathlib import Path

from tests import payloads as p
from tests.gateway import running_gateway

CUSTOMER = "16505550001"
TS = 1_760_000_000


def test_a_customer_message_after_an_echo_in_the_same_webhook_is_unread(db_url: str, tmp_path: Path) -> None:
    with running_gateway(db_url, tmp_path) as gw:
        gw.register()
        body = p.echo("wamid.E1", CUSTOMER, TS, "answered from the phone")
        body["entry"][0]["changes"] += p.inbound("wamid.C1", CUSTOMER, TS + 60, "thanks!")["entry"][0][
            "changes"
        ]
        gw.deliver(body)
        [conv] = gw.conversations()
        assert [m["wamid"] for m in gw.messages(conv["id"])] == ["wamid.E1", "wamid.C1"]
        assert conv["counts"]["unread"] == 1


def test_a_customer_message_after_an_echo_in_the_next_webhook_is_unread(db_url: str, tmp_path: Path) -> None:
    with running_gateway(db_url, tmp_path) as gw:
        gw.register()
        gw.deliver(p.echo("wamid.E1", CUSTOMER, TS, "answered from the phone"))
        gw.deliver(p.inbound("wamid.C1", CUSTOMER, TS + 60, "thanks!"))
        [conv] = gw.conversations()
        assert conv["counts"]["unread"] == 1
