"""Contacts merged across live, echo, history and address-book sources; account_update lifecycle."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import payloads as p
from tests.data import load
from tests.gateway import Gateway, running_gateway
from wacoex.store.tables import events

C1 = "16505551234"


@pytest.fixture
def gw(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    with running_gateway(db_url, tmp_path) as g:
        g.register()
        yield g


def test_one_contact_across_all_four_sources(gw: Gateway) -> None:
    gw.deliver(p.state_sync(p.book(C1, 1738346006)))
    gw.deliver(p.history(1, 1, 10, [{"id": C1, "messages": [p.hmsg("wamid.H", C1, 1_700_000_000)]}]))
    gw.deliver(p.echo("wamid.E", "+1 (650) 555-1234", 1_760_000_000))
    gw.deliver(p.inbound("wamid.I", C1, 1_760_000_100, name="Pablo M."))
    [conv] = gw.conversations()
    contact = conv["contact"]
    assert contact["wa_id"] == C1
    assert contact["names"]["address_book"]["full_name"] == "Pablo Morales"
    assert contact["names"]["profile"] == "Pablo M."
    assert contact["display_name"] == "Pablo Morales"
    assert conv["counts"] == {"messages": 2, "history": 1, "unread": 1}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("5511987654321", "551187654321"),  # Brazil with and without the ninth digit
        ("5215512345678", "525512345678"),  # Mexico's 521 mobile prefix
    ],
)
def test_country_quirks_do_not_split_a_person(gw: Gateway, a: str, b: str) -> None:
    gw.deliver(p.inbound("wamid.Q1", a, 1_760_000_000))
    gw.deliver(p.echo("wamid.Q2", b, 1_760_000_100))
    gw.deliver(p.state_sync(p.book(b, 1_760_000_200, full_name="Ana Souza", first_name="Ana")))
    assert gw.scalar("SELECT count(*) FROM contacts") == 1
    [conv] = gw.conversations()
    assert conv["counts"]["messages"] == 2
    assert conv["contact"]["names"]["address_book"]["full_name"] == "Ana Souza"


def test_bsuid_joins_a_contact_known_by_phone(gw: Gateway) -> None:
    gw.deliver(p.inbound("wamid.PH", C1, 1_760_000_000))
    gw.deliver(load("meta/messages/bsuid_text"))
    assert gw.scalar("SELECT count(*) FROM contacts") == 1
    [conv] = gw.conversations()
    assert conv["contact"]["user_id"] == "US.13491208655302741918"


def test_phone_withheld_bsuid_only_contact_is_kept(gw: Gateway) -> None:
    gw.deliver(load("meta/messages/bsuid_phone_withheld"))
    [conv] = gw.conversations()
    assert conv["contact"]["user_id"]
    assert conv["counts"]["messages"] == 1


def test_the_business_number_is_never_a_contact(gw: Gateway) -> None:
    gw.deliver(p.state_sync(p.book(p.BIZ, 1_760_000_000, full_name="My shop")))
    gw.deliver(
        p.history(0, 1, 100, [{"id": p.BIZ, "messages": [p.hmsg("wamid.SELF", p.BIZ, 1_700_000_000)]}])
    )
    assert gw.scalar("SELECT count(*) FROM contacts") == 0
    assert gw.scalar("SELECT count(*) FROM conversations") == 0
    assert gw.scalar("SELECT count(*) FROM unknown_items") == 2  # kept, explained, not dropped


def test_address_book_newest_change_wins_and_remove_clears_only_the_book_name(gw: Gateway) -> None:
    gw.deliver(p.inbound("wamid.I", C1, 1_760_000_000, name="Profile Name"))
    gw.deliver(p.state_sync(p.book(C1, 200, full_name="Newer Name", first_name="Newer")))
    gw.deliver(p.state_sync(p.book(C1, 100, full_name="Older Name", first_name="Older")))  # arrives late
    [conv] = gw.conversations()
    assert conv["contact"]["names"]["address_book"]["full_name"] == "Newer Name"
    gw.deliver(p.state_sync(p.book(C1, 300, action="remove")))
    [conv] = gw.conversations()
    names = conv["contact"]["names"]
    assert names["address_book"]["full_name"] is None
    assert names["address_book"]["removed"] is True
    assert names["profile"] == "Profile Name"
    gw.deliver(p.state_sync(p.book(C1, 250, full_name="Stale Add")))  # older than the remove
    [conv] = gw.conversations()
    assert conv["contact"]["names"]["address_book"]["full_name"] is None


def test_documented_state_sync_example(gw: Gateway) -> None:
    gw.deliver(load("meta/smb_app_state_sync/add_and_remove"))
    rows = gw.scalar("SELECT count(*) FROM contacts")
    assert rows == 2
    assert gw.scalar("SELECT book_full_name FROM contacts WHERE wa_id = '16505551234'") == "Pablo Morales"
    assert gw.scalar("SELECT book_removed FROM contacts WHERE wa_id = '16505550000'") in (1, True)


@pytest.mark.parametrize("fixture", ["partner_removed_phone_number", "partner_removed_waba_info"])
def test_partner_removed_in_both_documented_shapes(db_url: str, tmp_path: Path, fixture: str) -> None:
    body = load(f"meta/account_update/{fixture}")
    value = body["entry"][0]["changes"][0]["value"]
    waba = value.get("waba_info", {}).get("waba_id", p.WABA)
    with running_gateway(db_url, tmp_path) as gw:
        gw.register(waba_id=waba)
        gw.deliver(body)
        gw.deliver(body)  # duplicate delivery: idempotent
        [number] = gw.get("/api/v1/numbers")
        assert number["state"] == "disconnected"
        assert number["state_reason"] == "PRIMARY_INACTIVITY"
        assert number["state_initiated_by"] == "SYSTEM"
        assert gw.scalar("SELECT count(*) FROM account_events") == 1
        assert gw.scalar("SELECT count(*) FROM events WHERE type = 'number.state_changed'") == 1


def test_stale_lifecycle_events_are_fenced_by_time(gw: Gateway) -> None:
    removed = p.envelope(
        "account_update",
        {
            "phone_number": p.BIZ,
            "event": "PARTNER_REMOVED",
            "disconnection_info": {"reason": "ACCOUNT_DISCONNECTED", "initiated_by": "USER"},
        },
        time=2000,
    )
    reconnected_earlier = p.envelope("account_update", {"event": "ACCOUNT_RECONNECTED"}, time=1000)
    reconnected_later = p.envelope("account_update", {"event": "ACCOUNT_RECONNECTED"}, time=3000)
    gw.deliver(removed)
    gw.deliver(reconnected_earlier)  # older than the removal: recorded, not applied
    assert gw.get(f"/api/v1/numbers/{p.PNID}")["state"] == "disconnected"
    assert gw.scalar("SELECT count(*) FROM account_events WHERE NOT applied") == 1
    gw.deliver(reconnected_later)
    assert gw.get(f"/api/v1/numbers/{p.PNID}")["state"] == "connected"


def test_an_event_that_leaves_the_state_as_it_was_tells_nobody(gw: Gateway) -> None:
    """Meta repeats itself with a new time (or its ACCOUNT_RECONNECTED follows an onboarding through
    wacoex, stamped later by its clock): the state's time moves on, but no second event is recorded."""

    def removed(at: int, reason: str) -> bytes:
        info = {"reason": reason, "initiated_by": "USER"}
        return p.envelope(
            "account_update",
            {"phone_number": p.BIZ, "event": "PARTNER_REMOVED", "disconnection_info": info},
            time=at,
        )

    def reconnected(at: int) -> bytes:
        return p.envelope("account_update", {"event": "ACCOUNT_RECONNECTED"}, time=at)

    def changes() -> list[tuple[str, str, str | None]]:
        q = sa.select(events.c.payload).where(events.c.type == "number.state_changed").order_by(events.c.id)
        with gw.container.engine.connect() as conn:
            return [(e["event"], e["state"], e["reason"]) for e in conn.execute(q).scalars()]

    gw.deliver(reconnected(1000))  # registered connected: nothing to tell
    gw.deliver(removed(2000, "ACCOUNT_DISCONNECTED"))
    gw.deliver(removed(2500, "ACCOUNT_DISCONNECTED"))  # the same again, later
    gw.deliver(removed(2600, "PRIMARY_INACTIVITY"))  # still disconnected, for another reason: told
    gw.deliver(reconnected(3000))
    gw.deliver(reconnected(4000))
    assert changes() == [
        ("PARTNER_REMOVED", "disconnected", "ACCOUNT_DISCONNECTED"),
        ("PARTNER_REMOVED", "disconnected", "PRIMARY_INACTIVITY"),
        ("ACCOUNT_RECONNECTED", "connected", None),
    ]
    assert gw.scalar("SELECT count(*) FROM account_events WHERE applied") == 6
    gw.deliver(removed(3500, "ACCOUNT_DISCONNECTED"))  # older than the last reconnection: fenced
    assert gw.get(f"/api/v1/numbers/{p.PNID}")["state"] == "connected"
    assert len(changes()) == 3


def test_offboarded_and_reconnected_documented_examples(gw: Gateway) -> None:
    gw.register(phone_number_id="999", display_phone_number="15550009999", waba_id="862475293675413")
    gw.deliver(load("meta/account_update/account_reconnected"))  # time 1768477203
    gw.deliver(load("meta/account_update/account_offboarded"))  # time 1768477204
    assert gw.get("/api/v1/numbers/999")["state"] == "offboarded"


def test_webhooks_for_an_unregistered_number_are_kept_and_applied_on_registration(
    db_url: str, tmp_path: Path
) -> None:
    with running_gateway(db_url, tmp_path) as gw:
        result = gw.deliver(p.inbound("wamid.EARLY", C1, 1_760_000_000))
        assert result.held == 1
        assert gw.scalar("SELECT count(*) FROM messages") == 0
        receipts = gw.get("/api/v1/receipts", state="held")["items"]
        assert receipts[0]["waiting_for"] == [p.PNID]
        gw.register()
        gw.drain()
        assert gw.scalar("SELECT count(*) FROM messages") == 1
        assert gw.get("/api/v1/receipts")["items"][0]["state"] == "done"


def test_a_bsuid_only_contact_and_a_phone_only_contact_merge_when_one_message_names_both(gw: Gateway) -> None:
    withheld = p.envelope(
        "messages",
        {
            "contacts": [{"profile": {"name": "Sheena"}, "user_id": "US.1349120865530274"}],
            "messages": [
                {
                    "from_user_id": "US.1349120865530274",
                    "id": "wamid.U1",
                    "timestamp": "1760000000",
                    "type": "text",
                    "text": {"body": "phone withheld"},
                }
            ],
        },
    )
    gw.deliver(withheld)
    gw.deliver(p.inbound("wamid.U2", C1, 1_760_000_100, "phone only"))
    gw.deliver(p.state_sync(p.book(C1, 1_760_000_150, full_name="Sheena Nelson")))
    assert gw.scalar("SELECT count(*) FROM contacts") == 2
    both = p.envelope(
        "messages",
        {
            "contacts": [{"profile": {"name": "Sheena N."}, "wa_id": C1, "user_id": "US.1349120865530274"}],
            "messages": [
                {
                    "from": C1,
                    "from_user_id": "US.1349120865530274",
                    "id": "wamid.U3",
                    "timestamp": "1760000200",
                    "type": "text",
                    "text": {"body": "both"},
                }
            ],
        },
    )
    result = gw.deliver(both)
    assert result.done == 1  # no unique-constraint failure, nothing parked
    assert gw.scalar("SELECT count(*) FROM contacts") == 1
    [conv] = gw.conversations()
    contact = conv["contact"]
    assert (contact["wa_id"], contact["user_id"]) == (C1, "US.1349120865530274")
    assert contact["names"]["address_book"]["full_name"] == "Sheena Nelson"
    assert contact["names"]["profile"] == "Sheena N."
    assert conv["counts"]["messages"] == 3
    assert [m["wamid"] for m in gw.messages(conv["id"])] == ["wamid.U1", "wamid.U2", "wamid.U3"]


def test_the_spelling_whatsapp_reports_wins_over_the_address_book(gw: Gateway) -> None:
    gw.deliver(
        p.state_sync(p.book("551187654321", 1_760_000_000, full_name="Ana"))
    )  # without the ninth digit
    gw.deliver(p.inbound("wamid.BR", "5511987654321", 1_760_000_100))  # WhatsApp reports the 13-digit form
    gw.deliver(p.state_sync(p.book("551187654321", 1_760_000_200, full_name="Ana Souza")))
    [conv] = gw.conversations()
    assert conv["contact"]["wa_id"] == "5511987654321"


def test_repeated_address_book_webhooks_record_one_event(gw: Gateway) -> None:
    body = p.state_sync(p.book(C1, 1_760_000_000))
    gw.deliver(body)
    gw.deliver(body)
    assert gw.scalar("SELECT count(*) FROM events WHERE type = 'contact.updated'") == 1


def test_a_merge_inside_one_webhook_keeps_every_count_and_event(gw: Gateway) -> None:
    gw.deliver(p.inbound("wamid.PHONE", C1, 1_760_000_000, "known by phone"))
    body = p.envelope(
        "messages",
        {
            "contacts": [{"profile": {"name": "S"}, "user_id": "US.77"}],
            "messages": [
                {
                    "from_user_id": "US.77",
                    "id": "wamid.B1",
                    "timestamp": "1760000100",
                    "type": "text",
                    "text": {"body": "bsuid only"},
                },
            ],
        },
    )
    both = p.envelope(
        "messages",
        {
            "contacts": [{"profile": {"name": "S"}, "wa_id": C1, "user_id": "US.77"}],
            "messages": [
                {
                    "from": C1,
                    "from_user_id": "US.77",
                    "id": "wamid.B2",
                    "timestamp": "1760000200",
                    "type": "text",
                    "text": {"body": "both"},
                }
            ],
        },
    )
    body["entry"].extend(both["entry"])  # one POST: the BSUID-only message, then the one naming both
    gw.deliver(body)
    [conv] = gw.conversations()
    assert conv["counts"]["messages"] == 3
    assert conv["counts"]["unread"] == 3
    dangling = gw.scalar(
        "SELECT count(*) FROM events WHERE conversation_id IS NOT NULL AND "
        "conversation_id NOT IN (SELECT id FROM conversations)"
    )
    assert dangling == 0
