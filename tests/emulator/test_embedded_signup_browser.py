"""Embedded Signup in a real browser: a partner page on another origin loads the emulator's sdk.js,
calls FB.login, and records what reaches it (the session-info postMessage, the login callback).

Chromium (Debian's, at /usr/bin/chromium) is driven through Playwright; the emulator and the partner
page are served by uvicorn on two loopback ports, so their origins differ as in production.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from tests.emulator.conftest import START, serve
from wacoex.emulator.app import create_app
from wacoex.emulator.clock import Clock
from wacoex.emulator.world import World, WorldConfig

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")

PARTNER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Partner</title></head>
<body>
<button id="launch" type="button">Connect WhatsApp</button>
<script>
  window.log = [];
  window.addEventListener("message", function (event) {
    window.log.push({kind: "message", origin: event.origin, data: event.data});
  });
  window.fbAsyncInit = function () {
    FB.init({appId: __APP_ID__, autoLogAppEvents: true, xfbml: true, version: "v23.0"});
    window.initialised = true;
  };
  document.getElementById("launch").addEventListener("click", function () {
    FB.login(function (response) {
      window.log.push({kind: "callback", response: response});
    }, __OPTIONS__);
  });
</script>
<script src="__EMULATOR__/_emulator/es/sdk.js"></script>
</body></html>
"""
COEX_OPTIONS = {
    "config_id": "cfg-1",
    "response_type": "code",
    "override_default_response_type": True,
    "extras": {"setup": {}, "featureType": "whatsapp_business_app_onboarding", "sessionInfoVersion": "3"},
}
V4_OPTIONS = {
    "config_id": "cfg-1",
    "response_type": "code",
    "override_default_response_type": True,
    "extras": {"version": "v4", "features": [{"name": "whatsapp_business_app_onboarding"}]},
}


@dataclass
class Servers:
    emulator: str
    partner: str
    world: World
    browser: Any

    def partner_url(self, options: dict[str, Any], app_id: str | None = None) -> str:
        app = json.dumps(app_id or self.world.config.app_id)
        return f"{self.partner}/?options={json.dumps(options)}&app_id={app}"


def partner_app(emulator: str) -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def page(options: str, app_id: str) -> HTMLResponse:
        body = (
            PARTNER_PAGE.replace("__EMULATOR__", emulator)
            .replace("__OPTIONS__", options)
            .replace("__APP_ID__", app_id)
        )
        return HTMLResponse(body)

    @app.get("/onboarded")
    async def onboarded() -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>Onboarded</title><p>Thanks!</p>")

    return app


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    world = World(WorldConfig(), clock=Clock(START, frozen=True))
    with (
        serve(create_app(world, background=False)) as emulator,
        serve(partner_app(emulator)) as partner,
        sync_api.sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield Servers(emulator, partner, world, browser)
        finally:
            browser.close()


def number(servers: Servers, display: str) -> str:
    created = httpx.post(
        f"{servers.emulator}/_emulator/numbers", json={"display_phone_number": display}, timeout=10
    )
    assert created.status_code == 201, created.text
    return str(created.json()["waba_id"])


def launch(servers: Servers, options: dict[str, Any], app_id: str | None = None) -> tuple[Any, Any]:
    page = servers.browser.new_page()
    page.goto(servers.partner_url(options, app_id))
    page.wait_for_function("window.initialised === true")
    with page.expect_popup() as popup_info:
        page.click("#launch")
    popup = popup_info.value
    popup.wait_for_load_state()
    return page, popup


def log_of(page: Any) -> list[dict[str, Any]]:
    page.wait_for_function("window.log.some(function (e) { return e.kind === 'callback'; })")
    log: list[dict[str, Any]] = page.evaluate("window.log")
    return log


def session_events(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(e["data"]) for e in log if e["kind"] == "message" and isinstance(e["data"], str)]


@pytest.mark.parametrize("options", [COEX_OPTIONS, V4_OPTIONS], ids=["featureType", "v4-features"])
def test_connect_posts_the_session_info_then_calls_back_with_an_exchangeable_code(
    servers: Servers, options: dict[str, Any]
) -> None:
    display = "1555078" + ("3881" if options is COEX_OPTIONS else "3882")
    waba_id = number(servers, display)
    page, popup = launch(servers, options)
    popup.fill("#phone", f"+{display[0]} {display[1:4]} {display[4:]}")
    assert popup.is_checked("#share-history")
    with popup.expect_event("close"):
        popup.click("#connect")
    log = log_of(page)
    messages = [e for e in log if e["kind"] == "message"]
    assert {e["origin"] for e in messages} == {servers.emulator}
    first = messages[0]
    assert isinstance(first["data"], str)
    assert json.loads(first["data"]) == {
        "data": {"waba_id": waba_id},
        "type": "WA_EMBEDDED_SIGNUP",
        "event": "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
        "version": "3",
    }
    assert first["data"].startswith('{"data":{"waba_id":')
    kinds = [e["kind"] for e in log]
    assert kinds.index("message") < kinds.index("callback")
    [callback] = [e["response"] for e in log if e["kind"] == "callback"]
    assert callback["status"] == "connected"
    auth = callback["authResponse"]
    assert auth["code"].startswith("AQ")
    assert auth["userID"]
    assert auth["expiresIn"] == 30
    params = {
        "client_id": servers.world.config.app_id,
        "client_secret": servers.world.config.app_secret,
        "code": auth["code"],
    }
    token = httpx.get(f"{servers.emulator}/v23.0/oauth/access_token", params=params, timeout=10)
    assert token.status_code == 200, token.text
    assert token.json()["access_token"].startswith("EAA")
    page.close()


def test_cancel_posts_cancel_with_the_step_and_calls_back_unknown(servers: Servers) -> None:
    page, popup = launch(servers, COEX_OPTIONS)
    with popup.expect_event("close"):
        popup.click("#cancel")
    log = log_of(page)
    assert session_events(log) == [
        {
            "type": "WA_EMBEDDED_SIGNUP",
            "event": "CANCEL",
            "data": {"current_step": "PHONE_NUMBER_SETUP"},
            "version": "3",
        }
    ]
    [callback] = [e["response"] for e in log if e["kind"] == "callback"]
    assert callback == {"authResponse": None, "status": "unknown"}
    page.close()


def test_an_ineligible_number_is_explained_and_cancelled(servers: Servers) -> None:
    number(servers, "2348012345678")
    page, popup = launch(servers, COEX_OPTIONS)
    popup.fill("#phone", "+234 801 234 5678")
    popup.click("#connect")
    log = log_of(page)
    [event] = session_events(log)
    assert event["event"] == "CANCEL"
    assert event["data"]["current_step"] == "PHONE_NUMBER_SETUP"
    assert "+234" in event["data"]["error_message"]
    assert "+234" in popup.text_content("#error")
    [callback] = [e["response"] for e in log if e["kind"] == "callback"]
    assert callback == {"authResponse": None, "status": "unknown"}
    page.close()


def test_a_wrong_launch_shows_the_error_and_calls_back_unknown(servers: Servers) -> None:
    page, popup = launch(servers, {**COEX_OPTIONS, "response_type": "token"})
    assert "response_type" in popup.text_content("#error")
    assert not popup.is_visible("#phone")
    log = log_of(page)
    assert session_events(log) == []
    [callback] = [e["response"] for e in log if e["kind"] == "callback"]
    assert callback == {"authResponse": None, "status": "unknown"}
    page.close()


def test_360dialog_integrated_onboarding_redirects_the_browser_to_the_partner(servers: Servers) -> None:
    number(servers, "15550783899")
    page = servers.browser.new_page()
    redirect = f"{servers.partner}/onboarded"
    page.goto(f"{servers.emulator}/_emulator/360dialog/connect?partner_id=emulatorPA&redirect_url={redirect}")
    page.fill("#phone", "+1 555 078 3899")
    assert page.is_checked("#share-history")
    page.click("#connect")
    page.wait_for_url(f"{redirect}?*")
    query = parse_qs(urlsplit(page.url).query)
    [channel] = [n for n in servers.world.numbers.values() if n.display_phone_number == "15550783899"]
    assert query == {"client": [channel.d360_client_id], "channels": [f"[{channel.d360_channel_id}]"]}
    assert channel.provider == "360dialog"
    page.close()
