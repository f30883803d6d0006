"""Onboarding a Business app number over HTTP: eligibility, PARTNER_APP_INSTALLED, the ES code for
/oauth/access_token, and re-onboarding (ACCOUNT_RECONNECTED, sync counters reset)."""

from __future__ import annotations

import pytest

from tests.emulator import test_phone
from tests.emulator.test_phone import APP_SECRET, BASIC, PNID, Emulator

pytestmark = pytest.mark.anyio
anyio_backend, emu = test_phone.anyio_backend, test_phone.emu


async def test_onboarding_emits_partner_app_installed_and_an_exchangeable_code(emu: Emulator) -> None:
    await emu.scenario(BASIC)
    result = await emu.onboard()
    assert result["event"] == "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"
    assert result["waba_id"] == "102290129340398"
    [entry] = emu.entries("account_update")
    assert isinstance(entry["time"], int)
    assert entry["changes"][0]["value"] == {
        "event": "PARTNER_APP_INSTALLED",
        "waba_info": {
            "waba_id": "102290129340398",
            "owner_business_id": "2329417887457253",
            "partner_app_id": emu.world.config.app_id,
        },
    }
    params = {"client_id": emu.world.config.app_id, "client_secret": APP_SECRET, "code": result["code"]}
    token = await emu.client.get("/v23.0/oauth/access_token", params=params)
    assert token.status_code == 200, token.text
    assert token.json()["access_token"]
    number = emu.world.numbers[PNID]
    assert number.state == "CONNECTED"
    assert number.coexistence
    fields = await emu.client.get(
        f"/v23.0/{PNID}",
        params={"fields": "is_on_biz_app,platform_type"},
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert fields.json()["is_on_biz_app"] is True
    assert fields.json()["platform_type"] == "CLOUD_API"


@pytest.mark.parametrize(
    ("override", "word"),
    [({"app_version": "2.24.16"}, "2.24.16"), ({"display_phone_number": "2348012345678"}, "234")],
)
async def test_ineligible_numbers_cannot_onboard(emu: Emulator, override: dict[str, str], word: str) -> None:
    await emu.scenario({**BASIC, "numbers": [{**BASIC["numbers"][0], **override}]})
    refused = await emu.post(f"/_emulator/numbers/{PNID}/onboard", {"share_history": True})
    assert refused.status_code == 422
    assert word in refused.json()["error"]["message"]
    assert emu.values("account_update") == []


async def test_onboarding_twice_is_a_conflict(emu: Emulator) -> None:
    await emu.scenario(BASIC)
    await emu.onboard()
    assert (await emu.post(f"/_emulator/numbers/{PNID}/onboard")).status_code == 409


async def test_reonboarding_reconnects_and_resets_the_sync_counters(emu: Emulator) -> None:
    await emu.scenario(BASIC)
    await emu.onboard()
    sync = {"messaging_product": "whatsapp", "sync_type": "smb_app_state_sync"}
    assert (await emu.graph(f"{PNID}/smb_app_data", sync)).status_code == 200
    await emu.ok(f"/_emulator/numbers/{PNID}/app/disconnect")
    emu.clear()
    await emu.advance("+1d")
    result = await emu.onboard()
    assert result["reconnected"] is True
    events = [v["event"] for v in emu.values("account_update")]
    assert events == ["ACCOUNT_RECONNECTED", "PARTNER_APP_INSTALLED"]
    assert (await emu.graph(f"{PNID}/smb_app_data", sync)).status_code == 200
