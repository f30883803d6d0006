"""The Embedded Signup stand-in over HTTP: sdk.js, the dialog's launch checks, and /es/complete
(the browser-driven flow is in test_embedded_signup_browser.py)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.emulator.conftest import BUSINESS_NUMBER, Emu

pytestmark = pytest.mark.anyio
COEX = {
    "config_id": "cfg-1",
    "response_type": "code",
    "override_default_response_type": True,
    "extras": {"setup": {}, "featureType": "whatsapp_business_app_onboarding", "sessionInfoVersion": "3"},
}


async def open_dialog(
    emu: Emu, options: dict[str, Any], app_id: str | None = None
) -> tuple[str, dict[str, Any]]:
    app = app_id or emu.world.config.app_id
    url = f"/_emulator/es/dialog?app_id={app}&config_id={options.get('config_id', '')}"
    response = await emu.http.get(url + "&options=" + quote(json.dumps(options)))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    start = page.index("var CONTEXT = ") + len("var CONTEXT = ")
    context: dict[str, Any] = json.loads(page[start : page.index(";\n", start)])
    return page, context


async def test_sdk_js_knows_the_emulator_origin_and_app(emu: Emu) -> None:
    response = await emu.http.get("/_emulator/es/sdk.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    script = response.text
    assert '"origin": "http://emulator"' in script
    assert f'"appId": "{emu.world.config.app_id}"' in script
    assert "window.FB = {" in script
    assert "window.fbAsyncInit()" in script


@pytest.mark.parametrize(
    ("extras", "version"),
    [
        ({"featureType": "whatsapp_business_app_onboarding", "sessionInfoVersion": "3"}, "3"),
        ({"featureType": "whatsapp_business_app_onboarding", "sessionInfoVersion": "2"}, "2"),
        ({"version": "v3", "features": [{"name": "whatsapp_business_app_onboarding"}]}, "3"),
        (
            {
                "version": "v4",
                "features": [
                    {"name": "marketing_messages_lite"},
                    {"name": "whatsapp_business_app_onboarding"},
                ],
            },
            "3",
        ),
    ],
)
async def test_both_coexistence_launch_shapes_show_the_form(
    emu: Emu, extras: dict[str, Any], version: str
) -> None:
    page, context = await open_dialog(emu, {**COEX, "extras": extras})
    assert context == {
        "app_id": emu.world.config.app_id,
        "config_id": "cfg-1",
        "version": version,
        "step": "PHONE_NUMBER_SETUP",
        "error": None,
    }
    for element in (
        'id="phone"',
        'id="share-history"',
        "checked",
        'id="connect"',
        'id="cancel"',
        "Share chats",
    ):
        assert element in page
    assert "<script src" not in page
    assert "<link" not in page


@pytest.mark.parametrize(
    ("options", "app_id", "words"),
    [
        (COEX, "42", "Invalid App ID"),
        ({**COEX, "response_type": "token"}, None, 'response_type "code"'),
        ({**COEX, "override_default_response_type": False}, None, "override_default_response_type"),
        (
            {**COEX, "extras": {"featureType": "only_waba_sharing", "sessionInfoVersion": "3"}},
            None,
            "WhatsApp Business app onboarding",
        ),
        ({**COEX, "extras": {"featureType": "whatsapp_business_app_onboarding"}}, None, "sessionInfoVersion"),
    ],
)
async def test_other_launches_show_the_error(
    emu: Emu, options: dict[str, Any], app_id: str | None, words: str
) -> None:
    page, context = await open_dialog(emu, options, app_id)
    assert words in context["error"]
    assert 'id="form" class="hidden"' in page


async def test_a_configured_config_id_must_match(emu: Emu) -> None:
    emu.world.config.es_config_id = "cfg-1"
    assert (await open_dialog(emu, COEX))[1]["error"] is None
    _, context = await open_dialog(emu, {**COEX, "config_id": "cfg-2"})
    assert "Invalid configuration ID" in context["error"]


async def test_complete_onboards_the_number_and_answers_an_exchangeable_code(emu: Emu) -> None:
    number = await emu.control.create_number(display_phone_number=BUSINESS_NUMBER)
    body = {
        "phone": "+1 (555) 078-3881",
        "share_history": False,
        "app_id": emu.world.config.app_id,
        "config_id": "cfg-1",
    }
    response = await emu.http.post("/_emulator/es/complete", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["waba_id"] == number["waba_id"]
    assert result["expires_in"] == 30
    assert result["user_id"]
    pnid = number["phone_number_id"]
    assert emu.world.numbers[pnid].state == "CONNECTED"
    assert emu.world.numbers[pnid].history_shared is False
    assert [v["event"] for v in emu.receiver.values("account_update")] == ["PARTNER_APP_INSTALLED"]
    params = {
        "client_id": emu.world.config.app_id,
        "client_secret": emu.world.config.app_secret,
        "code": result["code"],
    }
    assert (await emu.http.get("/v23.0/oauth/access_token", params=params)).status_code == 200


async def test_complete_refusals_say_why_and_whether_to_retry(emu: Emu) -> None:
    app = emu.world.config.app_id
    await emu.control.create_number(display_phone_number="2348012345678")
    unknown = await emu.http.post("/_emulator/es/complete", json={"phone": "+1 999", "app_id": app})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["retry"] is True
    blocked = await emu.http.post("/_emulator/es/complete", json={"phone": "2348012345678", "app_id": app})
    assert blocked.status_code == 422
    assert blocked.json()["error"]["retry"] is False
    assert "+234" in blocked.json()["error"]["message"]
    wrong_app = await emu.http.post("/_emulator/es/complete", json={"phone": "2348012345678", "app_id": "1"})
    assert wrong_app.status_code == 422
