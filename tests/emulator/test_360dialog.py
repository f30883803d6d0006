"""The 360dialog flavour: D360-API-KEY, /messages, webhook config, /synchronization, media."""

from __future__ import annotations

import pytest

from tests.emulator.conftest import CUSTOMER, Emu

pytestmark = pytest.mark.anyio
KEY = {"D360-API-KEY": "key-1"}


async def dialog_number(emu: Emu) -> str:
    return await emu.coex_number(provider="360dialog", d360_api_key="key-1")


async def test_bad_key_is_401_invalid_api_key(emu: Emu) -> None:
    await dialog_number(emu)
    response = await emu.http.post("/messages", json={}, headers={"D360-API-KEY": "nope"})
    assert response.status_code == 401
    assert response.json()["meta"]["developer_message"] == "Invalid api_key"
    assert (await emu.http.get("/v1/configs/webhook")).status_code == 401


async def test_send_uses_the_same_rules_and_response(emu: Emu) -> None:
    pnid = await dialog_number(emu)
    body = {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {"body": "hi"}}
    closed = await emu.http.post("/messages", json=body, headers=KEY)
    assert closed.json()["error"]["code"] == 131047
    await emu.control.create_customer(CUSTOMER, "Sheena")
    await emu.control.customer_send(CUSTOMER, to=pnid, type="text", content={"body": "hello"})
    sent = await emu.http.post("/messages", json=body, headers=KEY)
    assert sent.json()["contacts"] == [{"input": CUSTOMER, "wa_id": CUSTOMER}]


async def test_webhook_config_routes_number_webhooks_with_headers(emu: Emu) -> None:
    pnid = await dialog_number(emu)
    config = {"url": "http://receiver/channel", "headers": {"Authorization": "Basic abc"}}
    assert (await emu.http.post("/v1/configs/webhook", json=config, headers=KEY)).json() == config
    assert (await emu.http.get("/v1/configs/webhook", headers=KEY)).json() == config
    await emu.control.create_customer(CUSTOMER, "Sheena")
    await emu.control.customer_send(CUSTOMER, to=pnid, type="text", content={"body": "hello"})
    (received,) = emu.receiver.received
    assert received.path == "/channel"
    assert received.headers["authorization"] == "Basic abc"


async def test_synchronization_follows_the_smb_app_data_rules(emu: Emu) -> None:
    await dialog_number(emu)
    body = {"messaging_product": "whatsapp", "sync_type": "smb_app_state_sync"}
    assert "request_id" in (await emu.http.post("/synchronization", json=body, headers=KEY)).json()
    again = await emu.http.post("/synchronization", json=body, headers=KEY)
    assert again.json()["error"]["code"] == 2593107


async def test_media_upload_retrieve_download_delete(emu: Emu) -> None:
    await dialog_number(emu)
    files = {"file": ("a.pdf", b"%PDF-1.4", "application/pdf")}
    media_id = (
        await emu.http.post("/media", data={"messaging_product": "whatsapp"}, files=files, headers=KEY)
    ).json()["id"]
    meta = (await emu.http.get(f"/{media_id}", headers=KEY)).json()
    assert meta["url"].startswith("http://emulator/whatsapp_business/attachments/?mid=")
    assert (await emu.http.get(meta["url"], headers=KEY)).content == b"%PDF-1.4"
    assert (await emu.http.get(meta["url"], headers={"D360-API-KEY": "nope"})).status_code == 401
    assert (await emu.http.delete(f"/{media_id}", headers=KEY)).json() == {"success": True}


async def test_templates_listing(emu: Emu) -> None:
    pnid = await dialog_number(emu)
    await emu.control.create_template("hello", "en", "MARKETING", phone_number_id=pnid)
    listed = (await emu.http.get("/v1/configs/templates", headers=KEY)).json()
    assert [t["name"] for t in listed["waba_templates"]] == ["hello"]
