"""A conversation created after a merge in the same transaction keeps its own counters and events."""

from __future__ import annotations

from pathlib import Path

from tests import payloads as p
from tests.gateway import running_gateway

A, B, C = "16505550003", "16505550001", "16505550002"
TS = 1_760_000_000


def test_a_message_to_a_new_customer_after_a_merging_number_change_counts_in_its_own_conversation(
    db_url: str, tmp_path: Path
) -> None:
    # The merged-away conversation's id still means "the kept one" for the rest of the transaction:
    # SQLite must not give it to the next new conversation.
    with running_gateway(db_url, tmp_path) as gw:
        gw.register()
        gw.deliver(p.inbound("wamid.A1", A, TS, "from A", name=None))
        gw.deliver(p.inbound("wamid.B1", B, TS, "from B", name=None))
        # One webhook: A moves to B's number (B's conversation is merged into A's), then the
        # business writes to C, a customer never seen, from the phone.
        body = p.inbound(
            "wamid.S0",
            A,
            TS + 60,
            type_="system",
            content={"body": f"changed to {B}", "wa_id": B, "type": "user_changed_number"},
            name=None,
        )
        body["entry"][0]["changes"] += p.echo("wamid.E1", C, TS + 120)["entry"][0]["changes"]
        gw.deliver(body)
        convs = {c["contact"]["wa_id"]: c for c in gw.conversations()}
        assert set(convs) == {B, C}
        assert convs[B]["counts"] == {"messages": 3, "history": 0, "unread": 2}
        assert convs[C]["counts"] == {"messages": 1, "history": 0, "unread": 0}
        assert [m["wamid"] for m in gw.messages(convs[C]["id"])] == ["wamid.E1"]
        echo_conv = gw.scalar("SELECT conversation_id FROM events WHERE type = 'message.echo'")
        assert echo_conv == convs[C]["id"]
