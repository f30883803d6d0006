"""Media: upload (multipart), metadata, short-lived download URLs, delete, expiry."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlsplit

import httpx
import pytest

from tests.emulator.conftest import AUTH, BUSINESS_NUMBER, Emu, error_code, serve
from wacoex.emulator.app import create_app
from wacoex.emulator.cli import build_runtime

pytestmark = pytest.mark.anyio
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def upload(emu: Emu, pnid: str, data: bytes = PNG, mime: str = "image/png") -> str:
    files = {"file": ("a.png", data, mime)}
    response = await emu.graph(
        "POST", f"/{pnid}/media", data={"messaging_product": "whatsapp", "type": mime}, files=files
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_upload_then_metadata_then_download(emu: Emu) -> None:
    pnid = await emu.coex_number()
    media_id = await upload(emu, pnid)
    meta = (await emu.graph("GET", f"/{media_id}")).json()
    assert meta["id"] == media_id
    assert meta["mime_type"] == "image/png"
    assert meta["file_size"] == len(PNG)
    assert meta["sha256"] == base64.b64encode(hashlib.sha256(PNG).digest()).decode()
    assert meta["url"].startswith("http://emulator/whatsapp_business/attachments/?mid=")
    downloaded = await emu.http.get(meta["url"], headers={"Authorization": "Bearer emulator-token"})
    assert downloaded.content == PNG
    unauthenticated = await emu.http.get(local(meta["url"]))
    assert unauthenticated.status_code == 401


async def test_download_url_expires_after_five_minutes(emu: Emu) -> None:
    pnid = await emu.coex_number()
    media_id = await upload(emu, pnid)
    url = (await emu.graph("GET", f"/{media_id}")).json()["url"]
    await emu.control.advance("+301s")
    response = await emu.http.get(local(url), headers={"Authorization": "Bearer emulator-token"})
    assert response.status_code == 404
    fresh = (await emu.graph("GET", f"/{media_id}")).json()["url"]
    assert (
        await emu.http.get(local(fresh), headers={"Authorization": "Bearer emulator-token"})
    ).content == PNG


async def test_uploaded_media_can_be_sent_by_id_and_deleted(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    media_id = await upload(emu, pnid)
    sent = await emu.send(pnid, {"type": "image", "image": {"id": media_id}})
    assert sent.status_code == 200
    assert (await emu.graph("DELETE", f"/{media_id}")).json() == {"success": True}
    assert error_code(await emu.graph("GET", f"/{media_id}")) == 100
    assert error_code(await emu.send(pnid, {"type": "image", "image": {"id": media_id}})) == 131053


async def test_media_expiry_fault_and_30_day_lifetime(emu: Emu) -> None:
    pnid = await emu.coex_number()
    first = await upload(emu, pnid)
    await emu.control.add_faults({"kind": "media_expiry", "media_id": first})
    assert error_code(await emu.graph("GET", f"/{first}")) == 100
    second = await upload(emu, pnid)
    await emu.control.advance("+31d")
    assert error_code(await emu.graph("GET", f"/{second}")) == 100


async def test_unsupported_and_oversized_uploads_are_131053(emu: Emu) -> None:
    pnid = await emu.coex_number()
    files = {"file": ("a.exe", b"MZ", "application/x-msdownload")}
    bad_type = await emu.graph("POST", f"/{pnid}/media", data={"messaging_product": "whatsapp"}, files=files)
    assert error_code(bad_type) == 131053
    big = {"file": ("a.jpg", b"\xff" * (5 * 1024 * 1024 + 1), "image/jpeg")}
    too_big = await emu.graph("POST", f"/{pnid}/media", data={"messaging_product": "whatsapp"}, files=big)
    assert error_code(too_big) == 131053


def upload_over(http: httpx.Client, pnid: str, auth: dict[str, str] = AUTH) -> str:
    files = {"file": ("a.png", PNG, "image/png")}
    data = {"messaging_product": "whatsapp", "type": "image/png"}
    response = http.post(f"/v23.0/{pnid}/media", data=data, files=files, headers=auth)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def test_media_urls_point_at_the_emulator_and_need_the_graph_token_over_loopback() -> None:
    with serve(create_app()) as url, httpx.Client(base_url=url, timeout=10) as http:
        rosa = http.post(
            "/_emulator/numbers",
            json={"display_phone_number": BUSINESS_NUMBER, "onboarded": True, "access_token": "rosa-token"},
        ).json()
        other = http.post(
            "/_emulator/numbers",
            json={"display_phone_number": "15550783882", "onboarded": True, "access_token": "other-token"},
        ).json()
        media_id = upload_over(http, rosa["phone_number_id"], {"Authorization": "Bearer rosa-token"})
        meta = http.get(f"/v23.0/{media_id}", headers={"Authorization": "Bearer rosa-token"}).json()
        assert meta["url"].startswith(f"{url}/whatsapp_business/attachments/?mid={media_id}&")
        with httpx.Client(timeout=10) as outsider:  # a client following the URL as given
            assert outsider.get(meta["url"], headers={"Authorization": "Bearer rosa-token"}).content == PNG
            assert outsider.get(meta["url"]).status_code == 401
            assert outsider.get(meta["url"], headers={"Authorization": "Bearer wrong"}).status_code == 401
            # another business's token is valid for Graph but may not see Rosa's media
            foreign = {"Authorization": "Bearer other-token"}
            assert outsider.get(meta["url"], headers=foreign).status_code == 404
            assert outsider.get(f"{url}/v23.0/{media_id}", headers=foreign).json()["error"]["code"] == 100
            assert outsider.get(meta["url"], headers=AUTH).content == PNG  # the app-wide token
        assert other["phone_number_id"] != rosa["phone_number_id"]


def test_media_base_url_overrides_where_download_urls_point() -> None:
    app = create_app(media_base_url="https://media.example.test/")
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        number = http.post(
            "/_emulator/numbers", json={"display_phone_number": BUSINESS_NUMBER, "onboarded": True}
        ).json()
        media_id = upload_over(http, number["phone_number_id"])
        meta = http.get(f"/v23.0/{media_id}", headers=AUTH).json()
        assert meta["url"].startswith("https://media.example.test/whatsapp_business/attachments/?mid=")
        assert http.get(local(meta["url"]), headers=AUTH).content == PNG
    assert build_runtime(media_base_url="https://cdn.test").world.config.media_base_url == "https://cdn.test"
