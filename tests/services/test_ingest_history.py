"""History import: direction, device timestamps, silence, placeholders, decline, progress, dedup."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import payloads as p
from tests.data import load
from tests.gateway import Gateway, running_gateway

C1, C2 = "16505551234", "12125557890"


@pytest.fixture
def gw(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    with running_gateway(db_url, tmp_path) as g:
        g.register()
        yield g


def _by_wamid(gw: Gateway) -> dict[str, dict]:  # type: ignore[type-arg]
    return {m["wamid"]: m for m in gw.all_messages()}


def test_documented_history_example_imports_with_direction_from_the_business_number(gw: Gateway) -> None:
    gw.deliver(load("meta/history/approved"))
    msgs = _by_wamid(gw)
    assert len(msgs) == 4
    out = msgs["wamid.HBgLMTY0NjcwNDM1OTUVAgARGBIyNDlBOEI5QUQ4NDc0N0FCNjMA"]
    inn = msgs["wamid.N0FCNjMAHBgLMTY0NjcwNDM1OTUVAgARGBIyNDlBOEI5QUQ4NDc0"]
    assert (out["direction"], out["origin"], out["status"], out["history_status"]) == (
        "outbound",
        "history",
        "read",
        "READ",
    )
    assert (inn["direction"], inn["origin"]) == ("inbound", "history")
    # device time, as sent: 1739230955 = 2025-02-10T23:42:35Z
    assert out["occurred_at"].startswith("2025-02-10T23:42:35")
    placeholder = msgs["wamid.QyNUEHBgLMTY0NjcwNDM1OTUVAgARGBI1Rj3NEYxMzAzMzQ5MkEA"]
    assert placeholder["type"] == "media_placeholder"
    assert placeholder["media"]["state"] == "awaiting"
    # the counterparty comes from threads[].id: two conversations, none with the business's own number
    convs = {c["contact"]["wa_id"]: c for c in gw.conversations()}
    assert set(convs) == {C1, C2}


def test_history_is_silent(gw: Gateway) -> None:
    import time

    now = int(time.time())
    gw.deliver(
        p.history(
            0,
            1,
            100,
            [
                {
                    "id": C1,
                    "messages": [
                        p.hmsg("wamid.H1", C1, now - 600, "customer wrote before onboarding", status_="READ"),
                        p.hmsg("wamid.H2", p.BIZ, now - 500, "owner answered"),
                    ],
                }
            ],
        )
    )
    [conv] = gw.conversations()
    assert conv["counts"] == {"messages": 0, "history": 2, "unread": 0}
    assert conv["window"]["open"] is False  # history never opens the service window
    assert gw.scalar("SELECT count(*) FROM events WHERE type LIKE 'message.%'") == 0


def test_history_never_reorders_the_live_inbox(gw: Gateway) -> None:
    gw.deliver(p.inbound("wamid.LIVE", C2, 1_760_000_000, "live question"))
    gw.deliver(p.history(2, 1, 40, [{"id": C1, "messages": [p.hmsg("wamid.OLD", C1, 1_740_000_000)]}]))
    first, second = gw.conversations()
    assert first["contact"]["wa_id"] == C2
    assert second["contact"]["wa_id"] == C1


def test_chunks_in_any_order_and_progress_per_phase(gw: Gateway) -> None:
    t = [{"id": C1, "messages": [p.hmsg(f"wamid.P{i}", C1, 1_700_000_000 + i)]} for i in range(4)]
    gw.deliver(p.history(1, 3, 70, [t[2]]))
    gw.deliver(p.history(1, 1, 20, [t[0]]))
    gw.deliver(p.history(2, 1, 90, [t[3]]))
    gw.deliver(p.history(1, 2, 50, [t[1]]))
    gw.deliver(p.history(1, 2, 50, [t[1]]))  # a duplicate delivery
    sync = gw.get(f"/api/v1/numbers/{p.PNID}/history-sync")
    assert sync["state"] == "in_progress"
    phases = {ph["phase"]: ph for ph in sync["phases"]}
    assert phases[1]["chunk_orders"] == [1, 2, 3]
    assert phases[1]["progress"] == 70
    assert phases[1]["messages_imported"] == 3
    assert phases[2]["messages_imported"] == 1
    gw.deliver(p.history(0, 1, 100, []))
    assert gw.get(f"/api/v1/numbers/{p.PNID}/history-sync")["state"] == "complete"
    # a late chunk never moves a complete import back to in_progress
    gw.deliver(p.history(2, 2, 95, []))
    assert gw.get(f"/api/v1/numbers/{p.PNID}/history-sync")["state"] == "complete"
    msgs = gw.messages(gw.conversations()[0]["id"])
    assert [m["wamid"] for m in msgs] == ["wamid.P0", "wamid.P1", "wamid.P2", "wamid.P3"]


def test_string_phase_and_progress_are_accepted(gw: Gateway) -> None:
    gw.deliver(load("meta/history/string_phase_progress"))
    sync = gw.get(f"/api/v1/numbers/{p.PNID}/history-sync")
    assert sync["phases"]
    assert sync["messages_imported"] >= 1


def test_decline_is_recorded(gw: Gateway) -> None:
    gw.deliver(load("meta/history/declined"))
    sync = gw.get(f"/api/v1/numbers/{p.PNID}/history-sync")
    assert sync["state"] == "declined"
    assert sync["declined"] is True
    assert sync["error"][0]["code"] == 2593109
    assert gw.scalar("SELECT count(*) FROM events WHERE type = 'history.declined'") == 1


@pytest.mark.parametrize("media_first", [False, True])
def test_media_placeholder_is_filled_whichever_arrives_first(gw: Gateway, media_first: bool) -> None:
    chunk = load("meta/history/approved")
    media = load("meta/history/media_followup")
    for body in [media, chunk] if media_first else [chunk, media]:
        gw.deliver(body)
    msgs = _by_wamid(gw)
    filled = msgs["wamid.QyNUEHBgLMTY0NjcwNDM1OTUVAgARGBI1Rj3NEYxMzAzMzQ5MkEA"]
    assert filled["type"] == "image"
    assert filled["text"] == "Black Prince echeveria"
    assert filled["media"]["id"] == "24230790383178626"
    assert filled["history_status"] == "PLAYED"
    assert len(msgs) == 4
    conv = {c["contact"]["wa_id"]: c for c in gw.conversations()}[C1]
    assert conv["counts"]["history"] == 3


def test_the_same_message_in_live_traffic_and_history_is_stored_once(gw: Gateway) -> None:
    gw.deliver(p.echo("wamid.BOTH", C1, 1_760_000_000, "sent at day 0"))
    gw.deliver(p.history(0, 1, 100, [{"id": C1, "messages": [p.hmsg("wamid.BOTH", p.BIZ, 1_760_000_000)]}]))
    gw.deliver(p.history(0, 2, 100, [{"id": C1, "messages": [p.hmsg("wamid.FIRST", C1, 1_760_000_500)]}]))
    gw.deliver(p.inbound("wamid.FIRST", C1, 1_760_000_500, "live after history"))
    msgs = _by_wamid(gw)
    assert len(msgs) == 2
    assert msgs["wamid.BOTH"]["origin"] == "business_app"
    assert msgs["wamid.FIRST"]["origin"] == "customer"


def test_a_large_history_webhook_imports_in_bulk(gw: Gateway) -> None:
    threads = [
        {
            "id": f"1650555{i:04d}",
            "messages": [
                p.hmsg(f"wamid.B{i}.{j}", f"1650555{i:04d}" if j % 2 else p.BIZ, 1_700_000_000 + j)
                for j in range(20)
            ],
        }
        for i in range(150)
    ]
    gw.deliver(p.history(1, 1, 100, threads))
    assert gw.scalar("SELECT count(*) FROM messages WHERE origin = 'history'") == 3000
    assert gw.scalar("SELECT count(*) FROM conversations") == 150
    assert gw.scalar("SELECT count(*) FROM messages WHERE direction = 'outbound'") == 1500


def test_a_message_seen_first_in_history_then_live_wakes_the_inbox_once(gw: Gateway) -> None:
    import time

    now = int(time.time())
    gw.deliver(p.history(0, 1, 100, [{"id": C1, "messages": [p.hmsg("wamid.DAY0", C1, now - 60)]}]))
    [conv] = gw.conversations()
    assert conv["counts"] == {"messages": 0, "history": 1, "unread": 0}
    gw.deliver(p.inbound("wamid.DAY0", C1, now - 60, "sent as onboarding finished"))
    gw.deliver(p.inbound("wamid.DAY0", C1, now - 60, "sent as onboarding finished"))  # duplicate
    [conv] = gw.conversations()
    assert conv["counts"] == {"messages": 1, "history": 0, "unread": 1}
    assert conv["window"]["open"] is True
    assert gw.scalar("SELECT count(*) FROM events WHERE type = 'message.received'") == 1
    [msg] = gw.messages(conv["id"])
    assert msg["origin"] == "customer"


def test_an_outbound_media_follow_up_promoted_by_its_echo_never_counts_below_zero(gw: Gateway) -> None:
    follow_up = p.envelope(
        "history",
        {
            "messages": [
                {
                    "from": p.BIZ,
                    "id": "wamid.MF",
                    "timestamp": "1760000000",
                    "type": "image",
                    "image": {"id": "42", "mime_type": "image/jpeg"},
                }
            ]
        },
    )
    gw.deliver(follow_up)  # from the business: no thread, so no conversation yet
    gw.deliver(
        p.echo("wamid.MF", C1, 1_760_000_000, type_="image", content={"id": "42", "mime_type": "image/jpeg"})
    )
    [conv] = gw.conversations()
    assert conv["counts"] == {"messages": 1, "history": 0, "unread": 0}
