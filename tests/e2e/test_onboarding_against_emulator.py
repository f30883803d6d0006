"""Onboarding and the number's lifecycle, end to end: the gateway against the emulator over loopback.

Embedded Signup's code to the first echo; the one-shot syncs requested once (a second attempt, and a
restart between request and answer, never call Meta again); the 24-hour deadline on the emulator's
clock; a declined history; the inactivity cut with its warning first; a disconnect and a reconnection;
an API-only number and an unsupported region refused; every documented account_update event seen.
The gateway's provider transport is the real network, counted on the way (never mocked).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.e2e.rig import emulator_clock, gateway_and_emulator
from tests.test_cli import assert_one_line_error, run_cli
from wacoex.bootstrap import Container, build, token_cipher
from wacoex.config import Settings
from wacoex.domain.alerts import DOCUMENTED_EVENTS
from wacoex.domain.onboarding import SyncKind
from wacoex.emulator.world import World, WorldConfig
from wacoex.store.onboarding import SqlOnboardingStore
from wacoex.store.tables import account_events, events

SECRET = "onboarding-app-secret"
ADMIN = "onboarding-admin-key-0123456789"
PNID = "106540352242922"
DISPLAY = "15550783881"
WABA = "102290129340398"
ANA = "16505551234"
BEN = "16505550000"


class CountingTransport(httpx.HTTPTransport):
    """The real network, with every request's method and path written down."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        return super().handle_request(request)

    def count(self, fragment: str, method: str = "POST") -> int:
        return sum(1 for m, p in self.calls if m == method and fragment in p)


@dataclass
class Rig:
    world: World
    container: Container
    transport: CountingTransport
    gw: httpx.Client
    emu: httpx.Client
    settings: Settings
    gw_url: str
    db_url: str
    extra: list[Container] = field(default_factory=list)

    def add_number(self, **extra: Any) -> None:
        body = {"phone_number_id": PNID, "display_phone_number": DISPLAY, "waba_id": WABA, **extra}
        self.emu.post("/numbers", json=body).raise_for_status()

    def es_code(self, *, share_history: bool = True, pnid: str = PNID) -> dict[str, Any]:
        """The owner completes Embedded Signup in the emulator: its code and WABA."""
        r = self.emu.post(f"/numbers/{pnid}/onboard", json={"share_history": share_history})
        assert r.status_code < 300, r.text
        return dict(r.json())

    def signup(self, finished: dict[str, Any], **extra: Any) -> httpx.Response:
        return self.gw.post(
            "/api/v1/onboarding/embedded-signup",
            json={"code": finished["code"], "waba_id": finished["waba_id"], **extra},
        )

    def health(self, pnid: str = PNID) -> dict[str, Any]:
        r = self.gw.get(f"/api/v1/numbers/{pnid}/health")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def syncs(self) -> dict[str, dict[str, Any]]:
        onboarding = self.health()["onboarding"]
        assert onboarding is not None
        return {s["kind"]: s for s in onboarding["syncs"]}

    def alerts(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [a for a in self.health()["alerts"] if kind is None or a["kind"] == kind]

    def alert_events(self, kind: str) -> list[dict[str, Any]]:
        """The `number.alert` events recorded for alerts of `kind`, oldest first."""
        return [p for p in self.event_payloads("number.alert") if p["kind"] == kind]

    def event_payloads(self, type_: str) -> list[dict[str, Any]]:
        """The payloads of the events of `type_` recorded, oldest first."""
        q = sa.select(events.c.payload).where(events.c.type == type_).order_by(events.c.id)
        with self.container.engine.connect() as conn:
            return list(conn.execute(q).scalars().all())

    def account_events(self, event: str) -> list[bool]:
        """Whether each `account_update` of `event` recorded changed the number's state."""
        q = sa.select(account_events.c.applied).where(account_events.c.event == event)
        with self.container.engine.connect() as conn:
            return [bool(a) for a in conn.execute(q.order_by(account_events.c.id)).scalars()]

    def advance(self, by: str) -> None:
        self.emu.post("/clock/advance", json={"by": by}).raise_for_status()

    def check_lifecycle(self) -> None:
        """One pass of the serve process's lifecycle jobs, now (they also run on their own)."""
        self.container.syncs.check()
        self.container.watch.check()

    def until(self, predicate: Callable[[], Any], what: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for: {what}")
            time.sleep(0.05)


@pytest.fixture
def rig(db_url: str, tmp_path: Path) -> Iterator[Rig]:
    world = World(WorldConfig(app_secret=SECRET, delivery_delay=0.05))
    transport = CountingTransport()
    with gateway_and_emulator(
        world,
        db_url,
        tmp_path,
        admin_key=ADMIN,
        transport=transport,
        meta_app_id=world.config.app_id,
        d360_partner_id=world.config.d360_partner_id,
        d360_partner_api_key=world.config.d360_partner_api_key,
        fetch_media=False,
        provider_timeout_seconds=2.0,
        lifecycle_check_seconds=0.2,
    ) as pair:
        for wa_id, name in ((ANA, "Ana"), (BEN, "Ben")):
            pair.emu.post("/customers", json={"wa_id": wa_id, "name": name}).raise_for_status()
        r = Rig(world, pair.container, transport, pair.gw, pair.emu, pair.settings, pair.gw_url, db_url)
        try:
            yield r
        finally:
            for other in r.extra:
                other.dispose()


def _seed_phone(rig: Rig) -> None:
    """Chats and an address book on the owner's phone, before onboarding."""
    chats = {
        "chats": [
            {
                "wa_id": ANA,
                "messages": [{"ago": "3d", "from": "customer", "text": "Are you open on Sunday?"}],
            },
            {"wa_id": BEN, "messages": [{"ago": "2d", "from": "business", "text": "Your order is ready"}]},
        ]
    }
    rig.emu.post(f"/numbers/{PNID}/app/history", json=chats).raise_for_status()
    for wa_id, name in ((ANA, "Ana Lima"), (BEN, "Ben Okoro")):
        r = rig.emu.post(
            f"/numbers/{PNID}/app/contacts", json={"action": "add", "phone_number": wa_id, "full_name": name}
        )
        assert r.status_code < 300, r.text


def test_a_full_signup_from_code_to_first_echo(rig: Rig) -> None:
    rig.add_number()
    _seed_phone(rig)
    finished = rig.es_code()
    assert finished["event"] == "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"

    r = rig.signup(finished)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["phone_number_id"], body["display_phone_number"], body["waba_id"]) == (PNID, DISPLAY, WABA)
    assert body["provider"] == "meta"
    assert body["created"] is True
    syncs = {s["kind"]: s for s in body["onboarding"]["syncs"]}
    assert syncs["smb_app_state_sync"]["state"] == "requested"
    assert syncs["smb_app_state_sync"]["request_id"]
    assert syncs["history"]["state"] == "requested"
    assert syncs["history"]["request_id"]

    # The safe order, and never `register`: contacts before history, each once.
    calls = [p for m, p in rig.transport.calls if m == "POST"]
    assert [p.rsplit("/", 1)[-1] for p in calls] == ["subscribed_apps", "smb_app_data", "smb_app_data"]
    assert not any(p.endswith(("/register", "/deregister")) for _, p in rig.transport.calls)
    numbers = rig.emu.get(f"/numbers/{PNID}").json()
    assert numbers["platform_type"] == "CLOUD_API"
    assert numbers["on_biz_app"] is True

    # The syncs' webhooks arrive and confirm both requests; the history is imported.
    rig.until(lambda: rig.health()["history"]["state"] == "complete", "the history imported")
    rig.until(lambda: all(s["confirmed_at"] for s in rig.syncs().values()), "both syncs confirmed")
    convs = rig.gw.get(f"/api/v1/numbers/{PNID}/conversations").json()["items"]
    names = {c["contact"]["wa_id"]: c["contact"]["names"]["address_book"]["full_name"] for c in convs}
    assert names == {ANA: "Ana Lima", BEN: "Ben Okoro"}
    health = rig.health()
    assert health["state"] == "connected"
    assert health["can_send"] is True
    assert health["meta"]["is_on_biz_app"] is True
    assert health["meta"]["platform_type"] == "CLOUD_API"
    assert "four companion devices" in health["companions"]

    # The owner's first message from the phone after onboarding is recorded as theirs.
    rig.advance("1m")
    sent = rig.emu.post(f"/numbers/{PNID}/app/send", json={"to": ANA, "text": "We are open 9-13 on Sunday"})
    assert sent.status_code < 300, sent.text
    wamid = sent.json()["wamid"]

    def echo() -> dict[str, Any] | None:
        conv = next(
            c
            for c in rig.gw.get(f"/api/v1/numbers/{PNID}/conversations").json()["items"]
            if c["contact"]["wa_id"] == ANA
        )
        items = rig.gw.get(f"/api/v1/conversations/{conv['id']}/messages").json()["items"]
        return next((m for m in items if m["wamid"] == wamid), None)

    rig.until(lambda: echo() is not None, "the first echo recorded")
    first = echo()
    assert first is not None
    assert (first["direction"], first["origin"], first["text"]) == (
        "outbound",
        "business_app",
        "We are open 9-13 on Sunday",
    )
    assert rig.health()["heartbeat"]["source"] == "echo"


def test_each_sync_is_requested_once_even_when_asked_again(rig: Rig) -> None:
    rig.add_number()
    assert rig.signup(rig.es_code()).status_code == 201
    before = rig.transport.count("/smb_app_data")
    assert before == 2

    for kind in ("contacts", "history"):
        again = rig.gw.post(f"/api/v1/numbers/{PNID}/syncs/{kind}", json={})
        assert again.status_code == 409, again.text
        assert again.json()["error"]["code"] == "sync_requested"
        assert "nothing was sent" in again.json()["error"]["message"]
        forced = rig.gw.post(f"/api/v1/numbers/{PNID}/syncs/{kind}", json={"force": True})
        assert forced.status_code == 409, forced.text
    rig.check_lifecycle()
    rig.check_lifecycle()
    assert rig.transport.count("/smb_app_data") == before  # Meta was never asked again


def test_a_restart_between_request_and_answer_never_asks_meta_again(rig: Rig) -> None:
    rig.add_number()
    _seed_phone(rig)
    # Meta carries out the contacts request but its answer never comes back (the gateway gives up
    # after 2 s): the intent stays, unconfirmed, and history still goes out after it.
    rig.emu.post(
        "/faults", json={"kind": "lost_response", "seconds": 4, "path": "smb_app_data", "times": 1}
    ).raise_for_status()
    r = rig.signup(rig.es_code())
    assert r.status_code == 201, r.text
    syncs = {s["kind"]: s for s in r.json()["onboarding"]["syncs"]}
    contacts = syncs["smb_app_state_sync"]
    if contacts["state"] != "requested":  # its webhooks may already have confirmed it
        assert contacts["state"] == "unconfirmed", contacts
    assert rig.transport.count("/smb_app_data") == 2

    # The process stops and another starts on the same database: it never repeats the request.
    rig.container.senders.stop()
    again = build(
        rig.settings,
        migrate=False,
        provider_transport=rig.transport,
        clock=emulator_clock(rig.world),
    )
    rig.extra.append(again)
    again.syncs.check()
    again.syncs.check()
    assert rig.transport.count("/smb_app_data") == 2
    # Meta did receive it: the address book arrives and confirms the request.
    rig.until(
        lambda: rig.syncs()["smb_app_state_sync"]["state"] == "requested", "contacts confirmed by webhooks"
    )
    assert rig.syncs()["smb_app_state_sync"]["confirmed_at"] is not None
    # The next check records it as requested and resolves the alert the lost answer raised.
    rig.advance("1m")
    again.syncs.check()
    assert not rig.alerts("sync_contacts")
    assert rig.transport.count("/smb_app_data") == 2


def test_a_crash_after_the_intent_leaves_it_unconfirmed_and_alerts(rig: Rig) -> None:
    rig.add_number()
    # The request fails for sure (Meta answers 503) so nothing is requested yet.
    rig.emu.post(
        "/faults", json={"kind": "api_error", "status": 503, "path": "smb_app_data"}
    ).raise_for_status()
    assert rig.signup(rig.es_code()).status_code == 201
    assert {s["state"] for s in rig.syncs().values()} == {"pending"}
    calls = rig.transport.count("/smb_app_data")
    # A process writes the contacts intent and dies before its request leaves.
    store = SqlOnboardingStore(rig.container.engine, rig.container.read_engine, token_cipher(rig.settings))
    current = store.current(PNID, None)
    assert current is not None
    assert store.begin(current.onboarding_id, SyncKind.CONTACTS, int(rig.world.clock.now() * 1000))
    rig.emu.delete("/faults").raise_for_status()
    rig.advance("5m")  # longer than a request can take
    rig.container.syncs.check()
    syncs = rig.syncs()
    assert syncs["smb_app_state_sync"]["state"] == "unconfirmed"
    assert rig.transport.count("/smb_app_data") == calls + 1  # history only: contacts is never resent
    alert = rig.alerts("sync_contacts")
    assert len(alert) == 1, alert  # one open alert of its kind, recorded with its event
    assert rig.alert_events("sync_contacts")[-1]["message"] == alert[0]["message"]
    assert "may or may not have reached Meta" in alert[0]["message"]
    # A person may retry it once, knowingly: Meta had not received it, so it is requested now.
    forced = rig.gw.post(f"/api/v1/numbers/{PNID}/syncs/contacts", json={"force": True})
    assert forced.status_code == 200, forced.text
    assert forced.json()["state"] == "requested"
    assert forced.json()["request_id"]
    assert not rig.alerts("sync_contacts")


def test_the_24_hour_deadline_alerts_first_then_expires_the_syncs(rig: Rig) -> None:
    rig.add_number()
    rig.emu.post(
        "/faults", json={"kind": "api_error", "status": 503, "path": "smb_app_data"}
    ).raise_for_status()
    assert rig.signup(rig.es_code()).status_code == 201
    assert {s["state"] for s in rig.syncs().values()} == {"pending"}

    rig.advance("21h")
    rig.container.syncs.check()
    warning = rig.alerts("sync_contacts")
    assert len(warning) == 1, warning  # one open alert of its kind, recorded with its event
    assert rig.alert_events("sync_contacts")[-1]["message"] == warning[0]["message"]
    assert warning[0]["severity"] == "warning"
    assert "24 hours end at" in warning[0]["message"]

    rig.advance("4h")  # 25 hours after onboarding
    rig.container.syncs.check()
    syncs = rig.syncs()
    assert {s["state"] for s in syncs.values()} == {"expired"}
    assert "2593108" in syncs["history"]["explained"]
    expired = rig.alerts("sync_history")
    assert len(expired) == 1, expired  # one open alert of its kind, recorded with its event
    assert rig.alert_events("sync_history")[-1]["message"] == expired[0]["message"]
    assert expired[0]["severity"] == "critical"
    assert "onboards it again" in expired[0]["message"]
    calls = rig.transport.count("/smb_app_data")
    refused = rig.gw.post(f"/api/v1/numbers/{PNID}/syncs/history", json={"force": True})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "sync_expired"
    assert rig.transport.count("/smb_app_data") == calls

    # Meta itself says the same: past 24 hours it answers 2593108, which the gateway records as expired.
    rig.emu.delete("/faults").raise_for_status()
    r = rig.emu.post("/oauth/codes", json={"phone_number_id": PNID})
    token = httpx.get(
        f"{rig.settings.graph_base_url}/oauth/access_token",
        params={"client_id": rig.world.config.app_id, "client_secret": SECRET, "code": r.json()["code"]},
    ).json()["access_token"]
    late = httpx.post(
        f"{rig.settings.graph_base_url}/{PNID}/smb_app_data",
        json={"messaging_product": "whatsapp", "sync_type": "history"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert late.json()["error"]["code"] == 2593108


def test_a_declined_history_is_shown_as_declined(rig: Rig) -> None:
    rig.add_number()
    _seed_phone(rig)
    assert rig.signup(rig.es_code(share_history=False)).status_code == 201
    rig.until(lambda: rig.health()["history"]["state"] == "declined", "the history declined")
    health = rig.health()
    assert "2593109" in health["history"]["explained"]
    history = {s["kind"]: s for s in health["onboarding"]["syncs"]}["history"]
    assert history["state"] == "requested"
    assert history["confirmed_at"] is not None


def test_inactivity_warns_first_then_the_number_is_disconnected_and_sends_stop(rig: Rig) -> None:
    rig.add_number()
    assert rig.signup(rig.es_code()).status_code == 201
    rig.check_lifecycle()
    assert not rig.alerts("inactivity")

    rig.advance("252h")
    rig.check_lifecycle()
    warning = rig.alerts("inactivity")
    assert len(warning) == 1, warning  # one open alert of its kind, recorded with its event
    assert rig.alert_events("inactivity")[-1]["message"] == warning[0]["message"]
    assert warning[0]["severity"] == "warning"
    assert "10 days" in warning[0]["message"]
    assert rig.health()["heartbeat"]["warning"] is True
    assert rig.health()["state"] == "connected"

    # The owner says they opened the app: the countdown starts again and the alert is resolved.
    ack = rig.gw.post(f"/api/v1/numbers/{PNID}/heartbeat")
    assert ack.status_code == 200, ack.text
    assert rig.health()["heartbeat"]["source"] == "acknowledged"
    # (a check that read the number before the acknowledgement may raise it once more; the next clears it)
    rig.until(lambda: not rig.alerts("inactivity"), "the inactivity alert resolved")
    rig.emu.post(f"/numbers/{PNID}/app/open", json={}).raise_for_status()

    rig.advance("252h")
    rig.check_lifecycle()
    assert rig.alerts("inactivity")
    rig.advance("96h")  # 14 days without the app: Meta cuts the number
    rig.until(lambda: rig.health()["state"] == "disconnected", "PRIMARY_INACTIVITY applied")
    health = rig.health()
    assert health["state_reason"] == "PRIMARY_INACTIVITY"
    assert health["can_send"] is False
    assert any("not opened for about 14 days" in a["message"] for a in rig.alerts("connection"))
    refused = rig.gw.post(f"/api/v1/numbers/{PNID}/messages", json={"to": ANA, "text": "hello"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "number_disconnected"


def test_a_disconnect_stops_sends_and_onboarding_again_reconnects_with_fresh_syncs(rig: Rig) -> None:
    rig.add_number()
    assert rig.signup(rig.es_code()).status_code == 201
    first = rig.health()["onboarding"]
    rig.emu.post(f"/numbers/{PNID}/app/disconnect").raise_for_status()
    rig.until(lambda: rig.health()["state"] == "disconnected", "the disconnect applied")
    refused = rig.gw.post(f"/api/v1/numbers/{PNID}/messages", json={"to": ANA, "text": "hello"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "number_disconnected"
    assert rig.health()["state_reason"] == "ACCOUNT_DISCONNECTED"

    calls = rig.transport.count("/smb_app_data")
    rig.advance("2h")  # the owner onboards again later that day
    again = rig.signup(rig.es_code())
    assert again.status_code == 201, again.text
    assert again.json()["created"] is False
    health = rig.health()
    assert health["state"] == "connected"
    assert health["can_send"] is True
    assert health["onboarding"]["started_at"] > first["started_at"]
    assert {s["state"] for s in health["onboarding"]["syncs"]} == {"requested"}
    assert rig.transport.count("/smb_app_data") == calls + 2  # a new onboarding: each once more
    rig.until(lambda: not rig.alerts("connection"), "the connection alert resolved")
    # The customer writes; the API can answer again.
    rig.emu.post(f"/customers/{ANA}/send", json={"to": PNID, "text": "Still open?"}).raise_for_status()
    time.sleep(0.3)
    ok = rig.gw.post(f"/api/v1/numbers/{PNID}/messages", json={"to": ANA, "text": "Yes!"})
    assert ok.status_code in (200, 201, 202), ok.text


def test_onboarding_again_before_metas_reconnected_event_arrives_reconnects_once(rig: Rig) -> None:
    """Meta's ACCOUNT_RECONNECTED may reach us after the signup's answer: the number is connected and
    its disconnection's alert resolved at once, and the late event (older than the state) changes
    nothing and tells nobody twice."""
    rig.add_number()
    assert rig.signup(rig.es_code()).status_code == 201
    rig.emu.post(f"/numbers/{PNID}/app/disconnect").raise_for_status()
    rig.until(lambda: rig.health()["state"] == "disconnected", "the disconnect applied")
    assert len(rig.alerts("connection")) == 1
    rig.emu.post(
        "/faults", json={"kind": "delay", "seconds": 120, "field": "account_update", "times": 1}
    ).raise_for_status()
    again = rig.signup(rig.es_code())  # ACCOUNT_RECONNECTED is held back 2 minutes
    assert again.status_code == 201, again.text
    health = rig.health()
    assert (health["state"], health["can_send"]) == ("connected", True)
    assert not rig.alerts("connection")  # resolved by the onboarding itself
    changes = [(p["event"], p["state"]) for p in rig.event_payloads("number.state_changed")]
    assert changes == [("PARTNER_REMOVED", "disconnected"), ("ONBOARDED", "connected")]

    rig.advance("3m")  # Meta's event arrives now, older than the onboarding that connected the number
    rig.until(lambda: rig.account_events("ACCOUNT_RECONNECTED"), "ACCOUNT_RECONNECTED recorded")
    assert rig.account_events("ACCOUNT_RECONNECTED") == [False]  # kept, fenced as stale
    assert [(p["event"], p["state"]) for p in rig.event_payloads("number.state_changed")] == changes
    health = rig.health()
    assert (health["state"], health["can_send"]) == ("connected", True)
    assert not rig.alerts("connection")


def test_an_api_only_number_is_refused_before_the_app_is_subscribed(rig: Rig) -> None:
    rig.add_number(on_biz_app=False)
    code = rig.emu.post("/oauth/codes", json={"phone_number_id": PNID}).json()["code"]
    r = rig.signup({"code": code, "waba_id": WABA})
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "not_coexistence"
    assert "API-only number cannot be onboarded" in error["message"]
    assert rig.transport.count("/subscribed_apps") == 0
    assert rig.transport.count("/smb_app_data") == 0
    assert rig.gw.get(f"/api/v1/numbers/{PNID}/health").status_code == 404  # not registered


def test_a_number_from_an_unsupported_region_is_refused_before_anything_is_called(rig: Rig) -> None:
    nigerian = "2348031234567"
    rig.add_number(
        phone_number_id="200000000000001", display_phone_number=nigerian, waba_id="200000000000002"
    )
    code = rig.emu.post("/oauth/codes", json={"phone_number_id": "200000000000001"}).json()["code"]
    r = rig.signup({"code": code, "waba_id": "200000000000002"}, phone="+" + nigerian)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "not_eligible"
    assert "Nigeria" in r.json()["error"]["message"]
    assert rig.transport.calls == []  # nothing at all was called
    exchanged = httpx.get(
        f"{rig.settings.graph_base_url}/oauth/access_token",
        params={"client_id": rig.world.config.app_id, "client_secret": SECRET, "code": code},
    )
    assert exchanged.status_code == 200  # the code was never used
    eligibility = rig.gw.get("/api/v1/onboarding/eligibility", params={"phone": "+" + nigerian}).json()
    assert eligibility["eligible"] is False
    assert eligibility["region"] == "NG"


def test_every_documented_account_event_moves_the_number_or_is_a_visible_alert(rig: Rig) -> None:
    rig.add_number()
    assert rig.signup(rig.es_code()).status_code == 201
    seen: dict[str, str] = {}
    order = sorted(DOCUMENTED_EVENTS - {"ACCOUNT_RECONNECTED", "ACCOUNT_DELETED"})
    order += ["ACCOUNT_DELETED", "ACCOUNT_RECONNECTED"]
    for event in order:
        state_before = rig.health()["state"]
        rig.advance("1m")  # each event a minute later than the last: none is stale
        r = rig.emu.post(f"/numbers/{PNID}/account-update", json={"event": event})
        assert r.status_code < 300, (event, r.text)

        def shown(event: str = event, before: str = state_before) -> bool:
            h = rig.health()
            if any(a["event"] == event for a in h["alerts"]):
                seen[event] = "alert"
                return True
            if h["state"] != before:
                seen[event] = f"state {before} -> {h['state']}"
                return True
            return False

        rig.until(shown, f"{event} shown")
    assert set(seen) == DOCUMENTED_EVENTS, seen
    assert seen["ACCOUNT_RECONNECTED"].endswith("-> connected")


def test_the_command_onboards_and_refuses_a_second_sync_without_calling_meta(
    rig: Rig, tmp_path: Path
) -> None:
    rig.add_number()
    finished = rig.es_code()
    env = {
        "WACOEX_DATABASE_URL": rig.db_url,
        "WACOEX_GRAPH_BASE_URL": rig.settings.graph_base_url,
        "WACOEX_META_APP_ID": rig.world.config.app_id,
        "WACOEX_META_APP_SECRET": SECRET,
    }
    code, lines = run_cli(
        ["numbers", "onboard", "+1 555 078 3881", "--code", finished["code"], "--waba-id", WABA, "--dev"],
        tmp_path,
        env,
    )
    assert code == 0, lines
    assert lines[0] == f"registered {PNID} (+{DISPLAY}, meta) in workspace 1"
    assert lines[1].startswith("- contacts: requested (request id ")
    assert lines[2].startswith("- history: requested (request id ")
    requested = rig.world.numbers[PNID].sync_done
    assert requested == {"smb_app_state_sync", "history"}
    assert_one_line_error(
        run_cli(["numbers", "sync", PNID, "history", "--dev"], tmp_path, env), 1, "was already requested"
    )
    code, lines = run_cli(["numbers", "opened", PNID, "--dev"], tmp_path, env)
    assert code == 0, lines
    assert rig.health()["heartbeat"]["source"] == "acknowledged"
    code, lines = run_cli(["numbers", "switch-back"], tmp_path)
    assert code == 0, lines
    assert any("Settings > Account > Business Platform" in line for line in lines)


def test_the_command_refuses_an_unsupported_region_before_anything(rig: Rig, tmp_path: Path) -> None:
    outcome = run_cli(
        ["numbers", "onboard", "+234 803 123 4567", "--code", "c", "--waba-id", "w", "--dev"],
        tmp_path,
        {"WACOEX_GRAPH_BASE_URL": rig.settings.graph_base_url, "WACOEX_META_APP_ID": "1"},
    )
    assert_one_line_error(outcome, 1, "Numbers from Nigeria (+234) cannot be onboarded")
    assert not (tmp_path / "var").exists()  # no database was even opened


def test_onboarding_through_360dialog_gets_the_channels_key_points_its_webhook_and_syncs(rig: Rig) -> None:
    rig.add_number(provider="360dialog")
    _seed_phone(rig)
    r = rig.emu.post(f"/numbers/{PNID}/onboard", json={"provider": "360dialog", "share_history": True})
    assert r.status_code < 300, r.text
    channel = r.json()["channel_id"]

    missing = rig.gw.post("/api/v1/onboarding/360dialog", json={"channel_id": channel})
    assert missing.status_code == 409, missing.text
    assert missing.json()["error"]["code"] == "phone_number_id_required"
    unknown = rig.gw.post(
        "/api/v1/onboarding/360dialog", json={"channel_id": "nope", "phone_number_id": PNID}
    )
    assert unknown.status_code == 404, unknown.text

    done = rig.gw.post("/api/v1/onboarding/360dialog", json={"channel_id": channel, "phone_number_id": PNID})
    assert done.status_code == 201, done.text
    body = done.json()
    assert (body["provider"], body["display_phone_number"], body["waba_id"]) == ("360dialog", DISPLAY, WABA)
    assert {s["state"] for s in body["onboarding"]["syncs"]} == {"requested"}
    number = rig.world.numbers[PNID]
    assert number.webhook_url == f"{rig.gw_url}/webhooks/360dialog"
    assert rig.transport.count("/api_keys") == 1
    assert rig.transport.count("/synchronization") == 2
    assert rig.transport.count("/smb_app_data") == 0
    # The syncs' webhooks come through 360dialog's phone-number webhook and confirm them.
    rig.until(lambda: all(s["confirmed_at"] for s in rig.syncs().values()), "both syncs confirmed")
    rig.until(lambda: rig.health()["history"]["state"] == "complete", "the history imported")


def test_a_client_calling_smb_app_data_through_the_proxy_gets_the_one_shot_guard(rig: Rig) -> None:
    rig.add_number()
    rig.emu.post(
        "/faults", json={"kind": "api_error", "status": 503, "path": "smb_app_data", "times": 1}
    ).raise_for_status()
    assert rig.signup(rig.es_code()).status_code == 201
    assert {s["state"] for s in rig.syncs().values()} == {"pending"}  # Meta was unavailable
    proxy = f"/graph/v23.0/{PNID}/smb_app_data"

    bad = rig.gw.post(proxy, json={"messaging_product": "whatsapp", "sync_type": "chats"})
    assert bad.status_code == 400, bad.text
    assert bad.json()["error"]["code"] == 100
    first = rig.gw.post(proxy, json={"messaging_product": "whatsapp", "sync_type": "smb_app_state_sync"})
    assert first.status_code == 200, first.text
    assert first.json()["messaging_product"] == "whatsapp"
    assert first.json()["request_id"]
    calls = rig.transport.count("/smb_app_data")
    again = rig.gw.post(proxy, json={"messaging_product": "whatsapp", "sync_type": "smb_app_state_sync"})
    assert again.status_code == 400, again.text
    assert again.json()["error"]["code"] == 2593107  # as Meta answers a repeat, but Meta was not asked
    assert rig.transport.count("/smb_app_data") == calls
    _info, bot = rig.container.admin.create_api_key("bot", role="bot")  # bots may not spend the syncs
    denied = httpx.post(
        rig.gw_url + proxy,
        json={"messaging_product": "whatsapp", "sync_type": "history"},
        headers={"Authorization": f"Bearer {bot}"},
    )
    assert denied.status_code == 403, denied.text
    assert denied.json()["error"]["code"] == 10


def test_meta_is_asked_every_few_hours_and_a_number_no_longer_on_the_app_raises_an_alert(rig: Rig) -> None:
    rig.add_number(quality="GREEN")
    assert rig.signup(rig.es_code()).status_code == 201
    meta = rig.health()["meta"]
    assert (meta["is_on_biz_app"], meta["platform_type"]) == (True, "CLOUD_API")
    checked = meta["checked_at"]

    rig.check_lifecycle()  # asked at onboarding: not again before WACOEX_BIZ_APP_CHECK_HOURS
    assert rig.transport.count(f"/{PNID}", method="GET") == 1
    # Meta's view changes with no webhook about it (the owner moved the number elsewhere, say).
    rig.emu.patch(f"/numbers/{PNID}", json={"on_biz_app": False, "quality": "YELLOW"}).raise_for_status()
    rig.advance("7h")
    rig.check_lifecycle()  # (the serve process's own check may have run too: asked once or twice)
    assert rig.transport.count(f"/{PNID}", method="GET") >= 2
    meta = rig.health()["meta"]
    assert meta["is_on_biz_app"] is False
    assert meta["quality_rating"] == "YELLOW"
    assert meta["throughput_level"]
    assert meta["checked_at"] > checked
    alert = rig.alerts("biz_app")
    assert len(alert) == 1, alert  # one open alert of its kind, recorded with its event
    assert rig.alert_events("biz_app")[-1]["message"] == alert[0]["message"]
    assert alert[0]["severity"] == "critical"
    assert "is_on_biz_app False" in alert[0]["message"]
    # Back on the app: the next check resolves it.
    rig.emu.patch(f"/numbers/{PNID}", json={"on_biz_app": True}).raise_for_status()
    rig.advance("7h")
    rig.check_lifecycle()
    assert not rig.alerts("biz_app")
