"""Sending end to end: the gateway (`wacoex serve`'s app) and the emulator as real servers on loopback.

The emulator plays Meta (it enforces the window, throughput and templates itself, and keeps a log of
every message and refusal), the owner's phone and the customers. The gateway's send rules read the
emulator's virtual clock, so a day can pass in a moment. Each test checks what the customer got (the
emulator's messages) and what the gateway recorded, not only status codes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.e2e.rig import emulator_clock, gateway_and_emulator
from wacoex.bootstrap import Container, build, token_cipher
from wacoex.emulator.world import World, WorldConfig
from wacoex.store.numbers import add_number

pytestmark = [pytest.mark.e2e]

SECRET = "send-app-secret"
ADMIN = "send-admin-key"
PNID = "106540352242922"
DISPLAY = "15550783881"
WABA = "102290129340398"
TOKEN = "send-token"
ANA = "16505551234"
BEN = "16505551235"
HIST = "16505551236"


@dataclass
class Rig:
    world: World
    container: Container
    gw: httpx.Client  # as the settings' admin key
    emu: httpx.Client  # the emulator's control API (/_emulator)
    gw_url: str
    emu_url: str
    clients: list[httpx.Client]

    def key(self, role: str, workspace: str | None = None) -> httpx.Client:
        """A client of the gateway with a new API key of `role` in the workspace (default: the first)."""
        _, key = self.container.admin.create_api_key(f"{role}-key", workspace=workspace, role=role)
        client = httpx.Client(base_url=self.gw_url, timeout=30, headers={"Authorization": f"Bearer {key}"})
        self.clients.append(client)
        return client

    # -- the people ---------------------------------------------------------------------------
    def customer_writes(self, wa_id: str, text: str, **extra: Any) -> str:
        r = self.emu.post(f"/customers/{wa_id}/send", json={"to": PNID, "text": text, **extra})
        assert r.status_code < 300, r.text
        wamid = str(r.json()["wamid"])
        self.until(lambda: self.message(wamid) is not None, f"the customer's message {wamid} recorded")
        return wamid

    def owner_writes(self, wa_id: str, text: str) -> str:
        r = self.emu.post(f"/numbers/{PNID}/app/send", json={"to": wa_id, "text": text})
        assert r.status_code < 300, r.text
        wamid = str(r.json()["wamid"])
        self.until(lambda: self.message(wamid) is not None, f"the owner's echo {wamid} recorded")
        return wamid

    def advance(self, by: str) -> None:
        self.emu.post("/clock/advance", json={"by": by}).raise_for_status()

    # -- what each side holds -----------------------------------------------------------------
    def sent_by_api(self, wa_id: str) -> list[dict[str, Any]]:
        """What the emulator (Meta) accepted from the API for the customer."""
        r = self.emu.get("/messages", params={"phone_number_id": PNID, "wa_id": wa_id, "origin": "api"})
        r.raise_for_status()
        return list(r.json()["data"])

    def refusals(self, code: int | None = None) -> int:
        r = self.emu.get("/refusals", params={"phone_number_id": PNID, **({"code": code} if code else {})})
        r.raise_for_status()
        return len(r.json()["data"])

    def message(self, wamid: str) -> dict[str, Any] | None:
        """The message as the read API shows it, wherever its conversation is."""
        convs = self.gw.get(f"/api/v1/numbers/{PNID}/conversations", params={"limit": 500}).json()["items"]
        for conv in convs:
            page = self.gw.get(f"/api/v1/conversations/{conv['id']}/messages", params={"limit": 500}).json()
            for m in page["items"]:
                if m["wamid"] == wamid:
                    return dict(m)
        return None

    def conversation_id(self, wa_id: str) -> int:
        items = self.gw.get(f"/api/v1/numbers/{PNID}/conversations", params={"limit": 100}).json()["items"]
        return next(int(c["id"]) for c in items if c["contact"]["wa_id"] == wa_id)

    def until(self, predicate: Callable[[], Any], what: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for: {what}")
            time.sleep(0.05)


def send(client: httpx.Client, body: dict[str, Any], **headers: str) -> httpx.Response:
    return client.post(f"/api/v1/numbers/{PNID}/messages", json=body, headers=headers)


@pytest.fixture
def rig(db_url: str, tmp_path: Path) -> Iterator[Rig]:
    world = World(WorldConfig(app_secret=SECRET, access_tokens=[TOKEN], delivery_delay=0.1))
    with gateway_and_emulator(
        world, db_url, tmp_path, admin_key=ADMIN, provider_timeout_seconds=3.0, send_max_wait_seconds=2.0
    ) as pair:
        with pair.container.engine.begin() as conn:
            add_number(
                conn,
                phone_number_id=PNID,
                display_phone_number=DISPLAY,
                waba_id=WABA,
                provider="meta",
                coexistence=True,
                access_token=TOKEN,
                cipher=token_cipher(pair.settings),
            )
        pair.emu.post(
            "/numbers",
            json={
                "phone_number_id": PNID,
                "display_phone_number": DISPLAY,
                "waba_id": WABA,
                "onboarded": True,
            },
        ).raise_for_status()
        for wa_id, name in ((ANA, "Ana"), (BEN, "Ben"), (HIST, "Hilde")):
            pair.emu.post("/customers", json={"wa_id": wa_id, "name": name}).raise_for_status()
        rig = Rig(world, pair.container, pair.gw, pair.emu, pair.gw_url, pair.emu_url, [])
        try:
            yield rig
        finally:
            for client in rig.clients:
                client.close()


def test_the_window_opens_with_the_customer_closes_after_24h_and_echoes_do_not_reopen_it(rig: Rig) -> None:
    never = send(rig.gw, {"to": ANA, "text": "hello?"})
    assert never.status_code == 409, never.text
    assert never.json()["error"]["code"] == "window_closed"
    assert never.json()["error"]["details"]["window"]["reason"] == "never_opened"

    rig.customer_writes(ANA, "Do you have croissants?")
    ok = send(rig.gw, {"to": ANA, "text": "Yes, fresh at 7."})
    assert ok.status_code == 200, ok.text
    wamid = ok.json()["wamid"]
    assert [m["wamid"] for m in rig.sent_by_api(ANA)] == [wamid]
    stored = rig.message(wamid)
    assert stored is not None
    assert (stored["origin"], stored["text"]) == ("api", "Yes, fresh at 7.")
    control = rig.gw.get(f"/api/v1/conversations/{rig.conversation_id(ANA)}/control").json()
    assert control["window"]["open"] is True

    rig.advance("+25h")
    rig.owner_writes(ANA, "Are you coming today?")  # the owner's reply from the phone
    closed = send(rig.gw, {"to": ANA, "text": "still there?"})
    assert closed.status_code == 409, closed.text
    assert closed.json()["error"]["details"]["window"]["reason"] == "expired"
    assert len(rig.sent_by_api(ANA)) == 1  # refused before reaching the provider
    assert rig.refusals() == 0
    # The read API tells the same time as the send rules: the window it shows is closed too.
    shown = rig.gw.get(f"/api/v1/conversations/{rig.conversation_id(ANA)}").json()
    assert shown["window"]["open"] is False, shown["window"]

    rig.customer_writes(ANA, "On my way")
    assert send(rig.gw, {"to": ANA, "text": "See you!"}).status_code == 200
    assert len(rig.sent_by_api(ANA)) == 2


def test_history_does_not_open_the_window(rig: Rig) -> None:
    rig.emu.post(
        f"/numbers/{PNID}/app/history",
        json={
            "chats": [
                {"wa_id": HIST, "messages": [{"ago": "2h", "from": "customer", "text": "old question"}]}
            ]
        },
    ).raise_for_status()
    rig.emu.post(f"/numbers/{PNID}/sync/history").raise_for_status()
    rig.until(lambda: rig.gw.get(f"/api/v1/numbers/{PNID}/conversations").json()["items"], "history imported")
    refused = send(rig.gw, {"to": HIST, "text": "answering your old question"})
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["window"]["reason"] == "never_opened"
    assert rig.sent_by_api(HIST) == []


def test_a_template_goes_out_of_the_window_and_a_bad_one_never_leaves(rig: Rig) -> None:
    rig.emu.post(
        "/templates",
        json={
            "waba_id": WABA,
            "name": "order_ready",
            "language": "en_US",
            "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Hi {{1}}, order {{2}} is ready."}],
        },
    ).raise_for_status()
    ok = send(
        rig.gw,
        {"to": BEN, "template": {"name": "order_ready", "language": "en_US", "parameters": ["Ben", "A-7"]}},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["category"] == "utility"
    # Priced before it left: a utility template outside the window is billable in North America.
    assert ok.json()["estimated_cost"] > 0
    assert ok.json()["currency"] == "USD"
    rig.until(lambda: rig.message(ok.json()["wamid"]) is not None, "the template recorded")
    assert rig.message(ok.json()["wamid"])["text"] == "Hi Ben, order A-7 is ready."  # type: ignore[index]

    missing = send(
        rig.gw, {"to": BEN, "template": {"name": "order_ready", "language": "en_US", "parameters": ["Ben"]}}
    )
    assert missing.status_code == 409
    assert missing.json()["error"]["code"] == "template_parameters"
    unknown = send(rig.gw, {"to": BEN, "template": {"name": "nope", "language": "en_US"}})
    assert unknown.status_code == 409
    assert unknown.json()["error"]["code"] == "template_unknown"
    assert len(rig.sent_by_api(BEN)) == 1
    assert rig.refusals() == 0
    listed = rig.gw.get(f"/api/v1/numbers/{PNID}/templates").json()["items"]
    assert [(t["name"], t["status"], t["parameter_format"]) for t in listed] == [
        ("order_ready", "APPROVED", "POSITIONAL")
    ]


def test_an_echo_takes_over_bots_wait_operators_do_not_and_release_or_time_hand_it_back(rig: Rig) -> None:
    bot, operator = rig.key("bot"), rig.key("operator")

    def events() -> list[tuple[str, Any]]:
        with rig.container.engine.connect() as conn:
            rows = conn.execute(
                sa.text("select type, payload from events where type like 'conversation.%' order by id")
            )
            return [
                (r.type, json.loads(r.payload) if isinstance(r.payload, str) else r.payload) for r in rows
            ]

    def announced(n: int) -> None:
        rig.until(lambda: len(events()) >= n, f"{n} takeover events (so far {events()})", timeout=20)

    rig.customer_writes(ANA, "I need help with my order")
    assert send(bot, {"to": ANA, "text": "I am the bot: how can I help?"}).status_code == 200
    rig.owner_writes(ANA, "Hi Ana, it's Rosa, let me check.")
    announced(1)

    refused = send(bot, {"to": ANA, "text": "bot again"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "human_takeover"
    assert send(operator, {"to": ANA, "text": "An operator can still write."}).status_code == 200
    conv = rig.conversation_id(ANA)
    control = operator.get(f"/api/v1/conversations/{conv}/control").json()
    assert (control["takeover"]["state"], control["takeover"]["cause"]) == ("human", "echo")
    assert bot.post(f"/api/v1/conversations/{conv}/release").status_code == 403  # bots cannot release

    released = operator.post(f"/api/v1/conversations/{conv}/release").json()
    assert released["takeover"]["state"] == "bot"
    assert send(bot, {"to": ANA, "text": "bot after release"}).status_code == 200

    rig.advance("+5s")
    rig.owner_writes(ANA, "One more thing from the phone")
    assert send(bot, {"to": ANA, "text": "bot while the owner types"}).status_code == 409
    announced(3)
    rig.advance("+31m")
    assert send(bot, {"to": ANA, "text": "bot after the takeover time"}).status_code == 200
    texts = [m["content"]["body"] for m in rig.sent_by_api(ANA)]
    assert "bot again" not in texts
    assert "bot while the owner types" not in texts

    announced(4)
    assert [(t, p.get("cause") or p.get("reason")) for t, p in events()] == [
        ("conversation.takeover_started", "echo"),
        ("conversation.takeover_ended", "released"),
        ("conversation.takeover_started", "echo"),
        ("conversation.takeover_ended", "expired"),
    ]


def test_an_idempotency_key_sends_once_and_answers_the_same(rig: Rig) -> None:
    rig.customer_writes(ANA, "hi")
    first = send(rig.gw, {"to": ANA, "text": "Once only"}, **{"Idempotency-Key": "order-1042-ack"})
    again = send(rig.gw, {"to": ANA, "text": "Once only"}, **{"Idempotency-Key": "order-1042-ack"})
    assert first.status_code == again.status_code == 200
    assert first.json()["wamid"] == again.json()["wamid"]
    assert first.json()["id"] == again.json()["id"]
    assert [m["content"]["body"] for m in rig.sent_by_api(ANA)] == ["Once only"]
    other = send(rig.gw, {"to": ANA, "text": "Something else"}, **{"Idempotency-Key": "order-1042-ack"})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert len(rig.sent_by_api(ANA)) == 1


def test_a_timeout_after_the_request_left_is_ambiguous_never_resent_and_reconciled_by_its_status(
    rig: Rig,
) -> None:
    rig.customer_writes(ANA, "hi")
    rig.emu.post("/faults", json=[{"kind": "lost_response", "seconds": 5, "times": 1}]).raise_for_status()
    lost = send(rig.gw, {"to": ANA, "text": "Did this arrive?"})
    assert lost.status_code == 504, lost.text
    assert lost.json()["error"]["code"] == "ambiguous"
    send_id = lost.json()["error"]["details"]["send"]["id"]
    listed = rig.gw.get("/api/v1/sends", params={"state": "ambiguous"}).json()["items"]
    assert [item["id"] for item in listed] == [send_id]  # for an operator to see
    assert len(rig.sent_by_api(ANA)) == 1  # it did arrive, once
    time.sleep(2.5)  # until long after the held answer: nothing was sent again
    assert len(rig.sent_by_api(ANA)) == 1
    wamid = rig.sent_by_api(ANA)[0]["wamid"]
    rig.emu.post("/flush").raise_for_status()  # its statuses reach the gateway
    rig.until(
        lambda: rig.gw.get(f"/api/v1/sends/{send_id}").json()["state"] == "sent", "reconciled", timeout=20
    )
    reconciled = rig.gw.get(f"/api/v1/sends/{send_id}").json()
    assert reconciled["wamid"] == wamid
    rig.until(lambda: (rig.message(wamid) or {}).get("text") == "Did this arrive?", "the record filled in")


def test_pacing_keeps_the_emulator_from_ever_answering_130429(rig: Rig) -> None:
    customers = [f"1650555{n:04d}" for n in range(40)]
    for wa_id in customers:
        rig.emu.post("/customers", json={"wa_id": wa_id, "name": wa_id}).raise_for_status()
        rig.emu.post(f"/customers/{wa_id}/send", json={"to": PNID, "text": "subscribe"}).raise_for_status()
    rig.emu.post("/flush").raise_for_status()
    rig.until(
        lambda: (
            len(rig.gw.get(f"/api/v1/numbers/{PNID}/conversations", params={"limit": 100}).json()["items"])
            >= 40
        ),
        "40 customers recorded",
    )
    ids = []
    for i in range(80):
        r = send(rig.gw, {"to": customers[i % 40], "text": f"campaign {i}", "queue": True})
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
    rig.until(
        lambda: all(rig.gw.get(f"/api/v1/sends/{i}").json()["state"] == "sent" for i in ids),
        "the campaign delivered",
        timeout=30,
    )
    states = {rig.gw.get(f"/api/v1/sends/{i}").json()["state"] for i in ids}
    assert states == {"sent"}
    assert rig.refusals(130429) == 0
    assert sum(len(rig.sent_by_api(c)) for c in customers) == 80


def test_a_key_of_another_workspace_can_neither_read_nor_send(rig: Rig) -> None:
    rig.container.admin.add_workspace("other")
    stranger = rig.key("admin", workspace="other")
    rig.customer_writes(ANA, "hi")
    assert stranger.get(f"/api/v1/numbers/{PNID}/conversations").status_code == 404
    refused = send(stranger, {"to": ANA, "text": "not yours"})
    assert refused.status_code == 404
    assert rig.sent_by_api(ANA) == []
    graph = stranger.post(
        f"/graph/v23.0/{PNID}/messages",
        json={"messaging_product": "whatsapp", "to": ANA, "type": "text", "text": {"body": "x"}},
    )
    assert graph.status_code == 400
    assert graph.json()["error"]["code"] == 100
    assert rig.sent_by_api(ANA) == []


def test_the_graph_proxy_answers_like_meta(rig: Rig) -> None:
    body = {"messaging_product": "whatsapp", "to": ANA, "type": "text", "text": {"body": "via proxy"}}
    closed = rig.gw.post(f"/graph/v23.0/{PNID}/messages", json=body)
    assert closed.status_code == 400
    assert closed.json()["error"]["code"] == 131047
    assert closed.json()["error"]["type"] == "OAuthException"
    rig.customer_writes(ANA, "hi")
    ok = rig.gw.post(f"/graph/v23.0/{PNID}/messages", json=body)
    assert ok.status_code == 200, ok.text
    assert ok.json()["messaging_product"] == "whatsapp"
    assert ok.json()["contacts"][0]["wa_id"] == ANA
    wamid = ok.json()["messages"][0]["id"]
    assert [m["wamid"] for m in rig.sent_by_api(ANA)] == [wamid]
    bad_key = httpx.post(
        f"{rig.gw_url}/graph/v23.0/{PNID}/messages", json=body, headers={"Authorization": "Bearer nope"}
    )
    assert bad_key.status_code == 401
    assert bad_key.json()["error"]["code"] == 190


def test_queued_sends_survive_a_restart_and_a_send_cut_off_mid_request_is_never_resent(rig: Rig) -> None:
    rig.customer_writes(ANA, "hi")
    rig.container.senders.stop()  # the gateway stops before its delivery engine got to them
    ids = [send(rig.gw, {"to": ANA, "text": f"queued {i}", "queue": True}).json()["id"] for i in range(3)]
    assert {rig.gw.get(f"/api/v1/sends/{i}").json()["state"] for i in ids} == {"queued"}
    assert rig.sent_by_api(ANA) == []

    # A send another process had taken to the provider when it died (state `sending`, long ago).
    with rig.container.engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into sends (workspace_id, number_id, request_sha256, role, route, to_input, type,"
                " body, state, queued, attempts, next_attempt_at, created_at, updated_at)"
                " values (1, 1, 'x', 'admin', 'api', :to, 'text', :body, 'sending', true, 1, 0, 0, 0)"
            ),
            {
                "to": ANA,
                "body": json.dumps(
                    {"messaging_product": "whatsapp", "to": ANA, "type": "text", "text": {"body": "cut off"}}
                ),
            },
        )
        cut_off = conn.execute(sa.text("select max(id) from sends")).scalar_one()

    restarted = build(rig.container.settings, migrate=False, clock=emulator_clock(rig.world))
    try:
        restarted.senders.start()
        rig.until(
            lambda: all(rig.gw.get(f"/api/v1/sends/{i}").json()["state"] == "sent" for i in ids),
            "the queued sends delivered after the restart",
        )
        rig.until(
            lambda: rig.gw.get(f"/api/v1/sends/{cut_off}").json()["state"] == "ambiguous", "cut-off send"
        )
    finally:
        restarted.dispose()
    bodies = [m["content"]["body"] for m in rig.sent_by_api(ANA)]
    assert bodies == ["queued 0", "queued 1", "queued 2"]  # in order, and the cut-off one never resent
