"""Graph account routes: number/WABA reads, subscribed_apps, code exchange, smb_app_data, refusals."""

from __future__ import annotations

import pytest

from tests.emulator.conftest import Emu, error_code

pytestmark = pytest.mark.anyio


async def test_number_fields_show_coexistence(emu: Emu) -> None:
    pnid = await emu.coex_number()
    response = await emu.graph("GET", f"/{pnid}", params={"fields": "is_on_biz_app,platform_type"})
    assert response.json() == {"is_on_biz_app": True, "platform_type": "CLOUD_API", "id": pnid}
    default = (await emu.graph("GET", f"/{pnid}")).json()
    assert default["display_phone_number"] == "+1 555-078-3881"
    assert default["throughput"] == {"level": "STANDARD"}
    assert default["quality_rating"] == "GREEN"


async def test_waba_phone_numbers_lists_its_numbers(emu: Emu) -> None:
    pnid = await emu.coex_number()
    waba_id = emu.world.numbers[pnid].waba_id
    data = (await emu.graph("GET", f"/{waba_id}/phone_numbers")).json()["data"]
    assert [n["id"] for n in data] == [pnid]
    assert data[0]["is_on_biz_app"] is True


async def test_subscribed_apps_override_runs_the_verification_handshake(emu: Emu) -> None:
    pnid = await emu.coex_number()
    waba_id = emu.world.numbers[pnid].waba_id
    bad = await emu.graph(
        "POST",
        f"/{waba_id}/subscribed_apps",
        json={"override_callback_uri": "http://receiver/o", "verify_token": "wrong"},
    )
    assert error_code(bad) == 2200
    assert emu.world.wabas[waba_id].override_callback_uri is None
    good = await emu.graph(
        "POST",
        f"/{waba_id}/subscribed_apps",
        json={"override_callback_uri": "http://receiver/o", "verify_token": "vt"},
    )
    assert good.json()["success"] is True
    assert good.json()["data"][0]["override_callback_uri"] == "http://receiver/o"
    assert emu.receiver.handshakes[-1]["hub.mode"] == "subscribe"
    listed = (await emu.graph("GET", f"/{waba_id}/subscribed_apps")).json()["data"]
    assert listed[0]["whatsapp_business_api_data"]["id"] == emu.world.config.app_id
    await emu.customer_writes(pnid)
    assert emu.receiver.received[-1].path == "/o"


async def test_unsubscribe_stops_webhooks(emu: Emu) -> None:
    pnid = await emu.coex_number()
    waba_id = emu.world.numbers[pnid].waba_id
    assert (await emu.graph("DELETE", f"/{waba_id}/subscribed_apps")).json() == {"success": True}
    assert (await emu.graph("GET", f"/{waba_id}/subscribed_apps")).json() == {"data": []}
    await emu.customer_writes(pnid)
    assert emu.receiver.received == []
    assert (await emu.graph("POST", f"/{waba_id}/subscribed_apps")).json() == {"success": True}


async def test_phone_number_webhook_override_with_handshake(emu: Emu) -> None:
    pnid = await emu.coex_number()
    config = {"webhook_configuration": {"override_callback_uri": "http://receiver/pn", "verify_token": "vt"}}
    assert (await emu.graph("POST", f"/{pnid}", json=config)).json() == {"success": True}
    fields = (await emu.graph("GET", f"/{pnid}", params={"fields": "webhook_configuration"})).json()
    assert fields["webhook_configuration"]["phone_number"] == "http://receiver/pn"


async def test_code_exchange_is_single_use_and_expires_after_30_seconds(emu: Emu) -> None:
    pnid = await emu.coex_number()
    code = (await emu.control.create_oauth_code(phone_number_id=pnid))["code"]
    params = {"client_id": emu.world.config.app_id, "client_secret": "emulator-app-secret", "code": code}
    first = await emu.http.get("/v23.0/oauth/access_token", params=params)
    token = first.json()["access_token"]
    again = await emu.http.get("/v23.0/oauth/access_token", params=params)
    assert again.json()["error"]["error_subcode"] == 36009
    late = (await emu.control.create_oauth_code(phone_number_id=pnid))["code"]
    await emu.control.advance("+31s")
    expired = await emu.http.get("/v23.0/oauth/access_token", params={**params, "code": late})
    assert expired.json()["error"]["error_subcode"] == 36007
    bad_secret = await emu.http.get("/v23.0/oauth/access_token", params={**params, "client_secret": "x"})
    assert bad_secret.status_code == 400
    own = await emu.graph("GET", f"/{pnid}", headers={"Authorization": f"Bearer {token}"})
    assert own.status_code == 200
    other = await emu.coex_number("15550783882")
    foreign = await emu.graph("GET", f"/{other}", headers={"Authorization": f"Bearer {token}"})
    assert error_code(foreign) == 100


async def test_onboarding_returns_a_code_that_exchanges(emu: Emu) -> None:
    number = await emu.control.create_number(display_phone_number="15550783881")
    result = await emu.control.onboard(number["phone_number_id"])
    params = {
        "client_id": emu.world.config.app_id,
        "client_secret": "emulator-app-secret",
        "code": result["code"],
    }
    assert "access_token" in (await emu.http.get("/v23.0/oauth/access_token", params=params)).json()


def sync(kind: str) -> dict:
    return {"messaging_product": "whatsapp", "sync_type": kind}


async def test_smb_app_data_accepts_each_sync_type_once(emu: Emu) -> None:
    pnid = await emu.coex_number()
    for kind in ("smb_app_state_sync", "history"):
        response = await emu.graph("POST", f"/{pnid}/smb_app_data", json=sync(kind))
        assert response.json()["messaging_product"] == "whatsapp"
        assert response.json()["request_id"]
    again = await emu.graph("POST", f"/{pnid}/smb_app_data", json=sync("history"))
    assert error_code(again) == 2593107
    assert again.json()["error"]["message"].startswith("(#2593107)")


async def test_smb_app_data_after_24_hours_is_2593108(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.advance("+24h")
    await emu.control.advance("+1s")
    response = await emu.graph("POST", f"/{pnid}/smb_app_data", json=sync("smb_app_state_sync"))
    assert error_code(response) == 2593108
    assert response.json()["error"]["error_data"]["details"] == (
        "Synchronization request can only be made within 24 hours of onboarding"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"messaging_product": "whatsapp"},
        {"messaging_product": "whatsapp", "sync_type": "all"},
        {**sync("history"), "days": 30},
    ],
)
async def test_smb_app_data_validates_its_body(emu: Emu, body: dict) -> None:
    pnid = await emu.coex_number()
    assert error_code(await emu.graph("POST", f"/{pnid}/smb_app_data", json=body)) == 100


async def test_smb_app_data_triggers_the_contact_and_history_syncs(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.app_contact(pnid, "16505551234", full_name="Sheena Nelson", first_name="Sheena")
    await emu.graph("POST", f"/{pnid}/smb_app_data", json=sync("smb_app_state_sync"))
    await emu.graph("POST", f"/{pnid}/smb_app_data", json=sync("history"))
    await emu.control.advance("+1h")
    assert emu.receiver.values("smb_app_state_sync")
    assert emu.receiver.values("history")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("register", {"messaging_product": "whatsapp", "pin": "123456"}),
        ("deregister", {}),
        ("official_business_account", {}),
        ("business_verification", {}),
        ("request_code", {"code_method": "SMS", "language": "en"}),
    ],
)
async def test_coexistence_numbers_refuse_registration_oba_and_verification(
    emu: Emu, path: str, body: dict
) -> None:
    pnid = await emu.coex_number()
    response = await emu.graph("POST", f"/{pnid}/{path}", json=body)
    assert error_code(response) == 100
    assert "coexistence" in response.json()["error"]["error_data"]["details"]


async def test_api_only_numbers_may_register_and_request_oba(emu: Emu) -> None:
    number = await emu.control.create_number(display_phone_number="15550783881", on_biz_app=False)
    pnid = number["phone_number_id"]
    register = {"messaging_product": "whatsapp", "pin": "123456"}
    assert (await emu.graph("POST", f"/{pnid}/register", json=register)).json() == {"success": True}
    assert (await emu.graph("POST", f"/{pnid}/official_business_account", json={})).json() == {
        "success": True
    }


async def test_message_templates_create_list_and_review(emu: Emu) -> None:
    pnid = await emu.coex_number()
    waba_id = emu.world.numbers[pnid].waba_id
    await emu.control.patch_config(template_review_seconds=60)
    body = {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Order {{1}}"}],
    }
    created = (await emu.graph("POST", f"/{waba_id}/message_templates", json=body)).json()
    assert created["status"] == "PENDING"
    duplicate = await emu.graph("POST", f"/{waba_id}/message_templates", json=body)
    assert duplicate.json()["error"]["error_subcode"] == 2388024
    await emu.control.advance("+61s")
    listed = (await emu.graph("GET", f"/{waba_id}/message_templates", params={"status": "APPROVED"})).json()[
        "data"
    ]
    assert [t["name"] for t in listed] == ["order_update"]
    assert emu.receiver.values("message_template_status_update")[0]["event"] == "APPROVED"
