"""360dialog's side of onboarding: Integrated Onboarding (control route and page), the Partner API
(auth, channels, API keys that revoke the old ones) and the partner webhook's channel events."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.emulator.conftest import BUSINESS_NUMBER, CUSTOMER, Emu

pytestmark = pytest.mark.anyio
PARTNER = "emulatorPA"
KEY = {"X-API-Key": "emulator-partner-api-key"}


async def onboard_360(emu: Emu, display: str = BUSINESS_NUMBER) -> dict[str, Any]:
    number = await emu.control.create_number(display_phone_number=display)
    response = await emu.http.post(
        f"/_emulator/numbers/{number['phone_number_id']}/onboard", json={"provider": "360dialog"}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def new_key(emu: Emu, channel_id: str, headers: dict[str, str] = KEY) -> dict[str, Any]:
    response = await emu.http.post(
        f"/api/v2/partners/{PARTNER}/channels/{channel_id}/api_keys", headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_onboarding_through_360dialog_gives_a_channel_and_partner_events(emu: Emu) -> None:
    result = await onboard_360(emu)
    assert result["provider"] == "360dialog"
    assert result["partner_id"] == PARTNER
    assert result["client_id"].endswith("CL")
    assert result["channel_id"].endswith("CH")
    number = emu.world.numbers[result["phone_number_id"]]
    assert (number.provider, number.state, number.d360_api_key) == ("360dialog", "CONNECTED", None)
    partner = [r for r in emu.receiver.received if r.path == "/partner"]
    events = [r.json for r in partner]
    assert [e["event"] for e in events] == ["channel_created", "channel_running"]
    assert set(events[0]) == {"id", "event", "data"}
    assert events[0]["data"] == {
        "id": result["channel_id"],
        "client_id": result["client_id"],
        "phone_number": "+" + BUSINESS_NUMBER,
        "phone_name": number.verified_name,
        "created_at": "2027-01-15T08:00:00Z",
        "billing_started_at": "2027-01-15T08:00:00Z",
        "fb_account_status": "verified",
        "status": "running",
        "account_mode": "live",
    }
    signature = hmac.new(b"partner-secret", partner[0].body, hashlib.sha256).hexdigest()
    assert partner[0].headers["x-360dialog-signature"] == signature


async def test_the_partner_api_lists_channels_with_the_waba(emu: Emu) -> None:
    result = await onboard_360(emu)
    await emu.control.create_number(display_phone_number="15550001111")  # a Meta number: no channel
    listed = await emu.http.get(f"/api/v2/partners/{PARTNER}/channels", headers=KEY)
    assert listed.status_code == 200
    body = listed.json()
    assert (body["count"], body["total"], body["offset"]) == (1, 1, 0)
    [channel] = body["partner_channels"]
    assert channel["id"] == result["channel_id"]
    assert channel["client_id"] == result["client_id"]
    assert channel["phone_number"] == "+" + BUSINESS_NUMBER
    assert channel["status"] == "running"
    assert channel["waba_account"]["external_id"] == result["waba_id"]
    assert channel["setup_info"]["phone_number"] == BUSINESS_NUMBER


async def test_api_keys_come_from_the_partner_api_and_the_newest_revokes_the_old(emu: Emu) -> None:
    result = await onboard_360(emu)
    first = await new_key(emu, result["channel_id"])
    assert set(first) == {"address", "api_key", "app_id", "id"}
    assert first["address"] == "http://emulator"
    await emu.control.create_customer(CUSTOMER, "Sheena")
    await emu.control.customer_send(
        CUSTOMER, to=result["phone_number_id"], type="text", content={"body": "hi"}
    )
    send = {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {"body": "hello"}}
    sent = await emu.http.post("/messages", json=send, headers={"D360-API-KEY": first["api_key"]})
    assert sent.status_code == 200, sent.text
    config = {"url": "http://receiver/channel", "headers": {"Authorization": "Basic x"}}
    configured = await emu.http.post(
        "/v1/configs/webhook", json=config, headers={"D360-API-KEY": first["api_key"]}
    )
    assert configured.json() == config
    sync = {"messaging_product": "whatsapp", "sync_type": "smb_app_state_sync"}
    synced = await emu.http.post("/synchronization", json=sync, headers={"D360-API-KEY": first["api_key"]})
    assert "request_id" in synced.json()
    second = await new_key(emu, result["channel_id"])
    assert second["api_key"] != first["api_key"]
    old = await emu.http.post("/messages", json=send, headers={"D360-API-KEY": first["api_key"]})
    assert old.status_code == 401
    assert (
        await emu.http.post("/messages", json=send, headers={"D360-API-KEY": second["api_key"]})
    ).status_code == 200


async def test_a_bearer_token_from_post_token_works_too(emu: Emu) -> None:
    result = await onboard_360(emu)
    wrong = await emu.http.post("/api/v2/token", json={"username": "partner@emulator.test", "password": "no"})
    assert wrong.status_code == 401
    login = {"username": "partner@emulator.test", "password": "emulator-partner-password"}
    token = (await emu.http.post("/api/v2/token", json=login)).json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 86400
    await new_key(emu, result["channel_id"], {"Authorization": f"Bearer {token['access_token']}"})


async def test_partner_api_refusals(emu: Emu) -> None:
    result = await onboard_360(emu)
    url = f"/api/v2/partners/{PARTNER}/channels"
    assert (await emu.http.get(url)).status_code == 401
    assert (await emu.http.get(url, headers={"X-API-Key": "nope"})).status_code == 401
    assert (await emu.http.get(url, headers={"Authorization": "Bearer nope"})).status_code == 401
    other = await emu.http.get("/api/v2/partners/otherPA/channels", headers=KEY)
    assert other.status_code == 403
    assert other.json()["meta"]["developer_message"] == "Permission denied for partner otherPA"
    missing = await emu.http.post(f"{url}/nopeCH/api_keys", headers=KEY)
    assert missing.status_code == 404
    assert result["channel_id"]


async def test_an_ineligible_number_keeps_its_provider(emu: Emu) -> None:
    number = await emu.control.create_number(display_phone_number="2348012345678")
    pnid = number["phone_number_id"]
    refused = await emu.http.post(f"/_emulator/numbers/{pnid}/onboard", json={"provider": "360dialog"})
    assert refused.status_code == 422
    assert emu.world.numbers[pnid].provider == "meta"
    assert emu.world.numbers[pnid].d360_channel_id is None
    bad = await emu.http.post(f"/_emulator/numbers/{pnid}/onboard", json={"provider": "twilio"})
    assert bad.status_code == 422


async def test_the_integrated_onboarding_page_redirects_with_client_and_channels(emu: Emu) -> None:
    await emu.control.create_number(display_phone_number=BUSINESS_NUMBER)
    query = f"partner_id={PARTNER}&redirect_url=https://partner.test/io?step=2"
    page = await emu.http.get(f"/_emulator/360dialog/connect?{query}")
    assert page.status_code == 200
    for element in ('id="phone"', 'id="share-history"', "checked", 'id="connect"'):
        assert element in page.text
    body = {
        "phone": "+1 555 078 3881",
        "share_history": True,
        "partner_id": PARTNER,
        "redirect_url": "https://partner.test/io?step=2",
    }
    answer = (await emu.http.post("/_emulator/360dialog/connect", json=body)).json()
    split = urlsplit(answer["redirect"])
    assert (split.netloc, split.path) == ("partner.test", "/io")
    params = parse_qs(split.query)
    assert params["step"] == ["2"]
    assert params["client"] == [answer["client_id"]]
    assert params["channels"] == [f"[{answer['channel_id']}]"]
    bad = await emu.http.get("/_emulator/360dialog/connect?partner_id=otherPA&redirect_url=https://x")
    assert "Unknown partner otherPA" in bad.text
    assert json.loads(json.dumps(answer))["channel_id"].endswith("CH")
