"""The signup link's page in a real browser: the gateway and the emulator over loopback, Chromium driven
through Playwright, Meta's SDK and popup played by the emulator (docs/emulator.md, "Embedded Signup in
a browser").

A workspace admin makes a link; the owner opens it, checks the number and connects it in the popup; the
number lands in the link's workspace with its syncs requested, and the owner's next message from the
phone is recorded. A Nigerian number is refused before Connect is offered, and session events posted
from any origin but the allowed one are ignored. The browser may reach the two loopback servers only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.emulator.conftest import serve
from wacoex.bootstrap import Container, build
from wacoex.config import Settings
from wacoex.emulator.app import create_app as create_emulator
from wacoex.emulator.world import World, WorldConfig
from wacoex.web.app import create_app as create_gateway

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")

SECRET = "signup-page-app-secret"
ADMIN = "signup-page-admin-key-0123456789"
PNID = "106540352242922"
DISPLAY = "15550783881"
WABA = "102290129340398"
ANA = "16505551234"
# Whatever a stray request would need, Chromium resolves nothing but loopback.
NO_NETWORK = [
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Rig:
    world: World
    container: Container
    emu_url: str
    gw_url: str
    emu: httpx.Client
    gw: httpx.Client  # the settings' admin key
    browser: Any

    def as_key(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def workspace_admin(self, name: str) -> tuple[int, str]:
        admin = self.container.admin
        workspace = admin.add_workspace(name)
        _, key = admin.create_api_key(f"{name} admin", workspace=name, role="admin")
        return workspace.id, key

    def link(self, key: str | None = None) -> dict[str, Any]:
        headers = self.as_key(key) if key else {}
        r = self.gw.post("/api/v1/onboarding/links", headers=headers)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def open_page(self, url: str) -> tuple[Any, list[str]]:
        """A new page on the link, with every URL the browser asked for."""
        context = self.browser.new_context()
        asked: list[str] = []
        allowed = {urlsplit(self.gw_url).netloc, urlsplit(self.emu_url).netloc}

        def route(r: Any) -> None:
            asked.append(r.request.url)
            if urlsplit(r.request.url).netloc in allowed:
                r.continue_()
            else:
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("typeof window.FB !== 'undefined'")
        return page, asked

    def check(self, page: Any, phone: str) -> str:
        page.fill("#phone", phone)
        page.click("#check")
        page.wait_for_function("document.getElementById('eligibility').textContent.indexOf('…') < 0")
        page.wait_for_function("document.getElementById('eligibility').textContent !== ''")
        return str(page.text_content("#eligibility"))


def until(predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=NO_NETWORK)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def rig(db_url: str, tmp_path: Path, browser: Any) -> Iterator[Rig]:
    world = World(WorldConfig(app_secret=SECRET, delivery_delay=0.05))
    with serve(create_emulator(world)) as emu_url:
        settings = Settings(
            database_url=db_url,
            app_secrets=[SECRET],
            admin_api_key=ADMIN,
            verify_token="vt",
            media_dir=tmp_path / "media",
            graph_base_url=f"{emu_url}/v23.0",
            meta_app_id=world.config.app_id,
            meta_app_secret=world.config.app_secret,
            es_config_id="cfg-signup",
            es_sdk_url=f"{emu_url}/_emulator/es/sdk.js",
            es_origins=[emu_url],
            dev=True,
            fetch_media=False,
            worker_poll_seconds=0.02,
            provider_timeout_seconds=5.0,
            lifecycle_check_seconds=0.2,
        )
        clock = lambda: int(world.clock.now() * 1000)  # noqa: E731
        container = build(settings, migrate=False, clock=clock)
        with (
            serve(create_gateway(container=container)) as gw_url,
            httpx.Client(base_url=f"{emu_url}/_emulator", timeout=30) as emu,
            httpx.Client(base_url=gw_url, timeout=30, headers={"Authorization": f"Bearer {ADMIN}"}) as gw,
        ):
            world.config.webhook_url = f"{gw_url}/webhooks/whatsapp"
            emu.post("/customers", json={"wa_id": ANA, "name": "Ana"}).raise_for_status()
            yield Rig(world, container, emu_url, gw_url, emu, gw, browser)
        container.dispose()


def app_only_number(rig: Rig) -> None:
    """A WhatsApp Business app number, not yet on the Cloud API, with a chat on the phone."""
    body = {"phone_number_id": PNID, "display_phone_number": DISPLAY, "waba_id": WABA}
    rig.emu.post("/numbers", json=body).raise_for_status()
    chats = {
        "chats": [{"wa_id": ANA, "messages": [{"ago": "3d", "from": "customer", "text": "Open Sunday?"}]}]
    }
    rig.emu.post(f"/numbers/{PNID}/app/history", json=chats).raise_for_status()


def test_the_owner_connects_their_number_into_the_links_workspace(rig: Rig) -> None:
    app_only_number(rig)
    acme, acme_key = rig.workspace_admin("acme")
    _, default_reader = rig.container.admin.create_api_key("default reader", role="read-only")
    link = rig.link(acme_key)
    assert link["workspace_id"] == acme

    page, asked = rig.open_page(link["url"])
    assert "Up to four companion devices" in page.text_content("#limits")
    assert "can be connected" in rig.check(page, "+1 555 078 3881")
    with page.expect_popup() as popup_info:
        page.click("#connect")
    popup = popup_info.value
    popup.wait_for_load_state()
    popup.fill("#phone", "+1 555 078 3881")
    assert popup.is_checked("#share-history")
    popup.click("#connect")
    page.wait_for_function(
        "document.getElementById('status').textContent.indexOf('Connected') === 0", timeout=30_000
    )
    assert "+15550783881" in page.text_content("#status")
    shown = page.text_content("#syncs")
    assert "Contacts: requested" in shown
    assert "Chat history: requested" in shown
    # Nothing but the gateway and the emulator (standing in for Meta) was asked for.
    hosts = {urlsplit(u).netloc for u in asked}
    assert hosts == {urlsplit(rig.gw_url).netloc, urlsplit(rig.emu_url).netloc}, asked

    # The number is acme's: its key sees it, the default workspace's does not.
    mine = rig.gw.get(f"/api/v1/numbers/{PNID}/health", headers=rig.as_key(acme_key))
    assert mine.status_code == 200, mine.text
    assert {s["state"] for s in mine.json()["onboarding"]["syncs"]} == {"requested"}
    assert mine.json()["onboarding"]["source"] == "embedded_signup"
    other = rig.gw.get(f"/api/v1/numbers/{PNID}", headers=rig.as_key(default_reader))
    assert other.status_code == 404

    # The owner answers from the phone: the echo is recorded in acme's conversation.
    sent = rig.emu.post(f"/numbers/{PNID}/app/send", json={"to": ANA, "text": "Yes, 9 to 13"})
    assert sent.status_code < 300, sent.text
    wamid = sent.json()["wamid"]

    def echo() -> dict[str, Any] | None:
        convs = rig.gw.get(f"/api/v1/numbers/{PNID}/conversations", headers=rig.as_key(acme_key))
        for conv in convs.json()["items"]:
            items = rig.gw.get(f"/api/v1/conversations/{conv['id']}/messages", headers=rig.as_key(acme_key))
            found = next((m for m in items.json()["items"] if m["wamid"] == wamid), None)
            if found is not None:
                return dict(found)
        return None

    until(lambda: echo() is not None, "the owner's echo recorded")
    recorded = echo()
    assert recorded is not None
    assert (recorded["direction"], recorded["origin"], recorded["text"]) == (
        "outbound",
        "business_app",
        "Yes, 9 to 13",
    )
    page.context.close()


def test_a_nigerian_number_is_refused_and_connect_is_not_offered(rig: Rig) -> None:
    page, _ = rig.open_page(rig.link()["url"])
    said = rig.check(page, "+234 803 123 4567")
    assert "Nigeria" in said
    assert "cannot be onboarded" in said
    assert not page.is_visible("#connect")
    assert "can be connected" in rig.check(page, "+1 555 078 3881")
    assert page.is_visible("#connect")
    assert "Nigeria" in rig.check(page, "+2348031234567")
    assert not page.is_visible("#connect")  # a refusal hides it again
    page.context.close()


def test_session_events_from_another_origin_are_ignored(rig: Rig) -> None:
    page, _ = rig.open_page(rig.link()["url"])
    assert "can be connected" in rig.check(page, "+1 555 078 3881")
    spoofed = [
        {
            "type": "WA_EMBEDDED_SIGNUP",
            "event": "CANCEL",
            "data": {"current_step": "X", "error_message": "boo"},
        },
        {
            "type": "WA_EMBEDDED_SIGNUP",
            "event": "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
            "data": {"waba_id": "999"},
            "version": "3",
        },
    ]
    # Posted by the page to itself (its own origin, not the emulator's), then a marker: by the time
    # the marker arrives, the page's own listener has seen (and dropped) every earlier message.
    page.evaluate(
        """(events) => new Promise((done) => {
          window.addEventListener("message", (e) => { if (e.data === "marker") { done(); } });
          events.forEach((ev) => window.postMessage(JSON.stringify(ev), "*"));
          window.postMessage("marker", "*");
        })""",
        spoofed,
    )
    assert page.text_content("#status") == ""
    assert not page.is_visible("#result")
    # The same events from the allowed origin would have been read: the page listens for them.
    assert json.dumps(rig.emu_url) in page.content()
    page.context.close()
