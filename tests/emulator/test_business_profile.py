"""The business profile: Graph and 360dialog reads and updates, with Meta's limits."""

from __future__ import annotations

import pytest

from tests.emulator.conftest import Emu, error_code

pytestmark = pytest.mark.anyio
KEY = {"D360-API-KEY": "key-1"}


async def test_update_then_read_the_profile_with_fields(emu: Emu) -> None:
    pnid = await emu.coex_number()
    empty = await emu.graph("GET", f"/{pnid}/whatsapp_business_profile")
    assert empty.json() == {"data": [{"messaging_product": "whatsapp"}]}
    update = {
        "messaging_product": "whatsapp",
        "about": "Fresh bread daily",
        "address": "1 Baker St",
        "description": "A small bakery.",
        "email": "rosa@bakery.test",
        "vertical": "RESTAURANT",
        "websites": ["https://bakery.test/"],
        "profile_picture_handle": "4::aW1hZ2UvcG5n:ARb...",
    }
    answer = await emu.graph("POST", f"/{pnid}/whatsapp_business_profile", json=update)
    assert answer.json() == {"success": True}
    wanted = "about,address,description,email,profile_picture_url,websites,vertical"
    [profile] = (
        await emu.graph("GET", f"/{pnid}/whatsapp_business_profile", params={"fields": wanted})
    ).json()["data"]
    assert profile["about"] == "Fresh bread daily"
    assert profile["websites"] == ["https://bakery.test/"]
    assert profile["vertical"] == "RESTAURANT"
    assert profile["profile_picture_url"].startswith("https://pps.whatsapp.net/")
    assert profile["messaging_product"] == "whatsapp"
    only = await emu.graph("GET", f"/{pnid}/whatsapp_business_profile", params={"fields": "about"})
    assert only.json() == {"data": [{"about": "Fresh bread daily", "messaging_product": "whatsapp"}]}
    # an update changes only what it names; the control API shows the profile too
    await emu.graph(
        "POST",
        f"/{pnid}/whatsapp_business_profile",
        json={"messaging_product": "whatsapp", "about": "Closed"},
    )
    number = await emu.control.get_number(pnid)
    assert number["business_profile"]["about"] == "Closed"
    assert number["business_profile"]["email"] == "rosa@bakery.test"


@pytest.mark.parametrize(
    "change",
    [
        {"about": "x" * 140},
        {"about": ""},
        {"email": "not-an-email"},
        {"vertical": "BAKERY"},
        {"websites": ["https://a.test", "https://b.test", "https://c.test"]},
        {"websites": ["ftp://a.test"]},
        {"description": "x" * 513},
    ],
)
async def test_invalid_updates_are_refused_and_change_nothing(emu: Emu, change: dict[str, object]) -> None:
    pnid = await emu.coex_number()
    body = {"messaging_product": "whatsapp", "address": "changed?", **change}
    response = await emu.graph("POST", f"/{pnid}/whatsapp_business_profile", json=body)
    assert response.status_code == 400
    assert error_code(response) == 100
    assert (await emu.control.get_number(pnid))["business_profile"]["address"] is None


async def test_profile_needs_messaging_product_a_known_field_and_the_owners_token(emu: Emu) -> None:
    pnid = await emu.coex_number()
    missing = await emu.graph("POST", f"/{pnid}/whatsapp_business_profile", json={"about": "hi"})
    assert error_code(missing) == 100
    bad_field = await emu.graph("GET", f"/{pnid}/whatsapp_business_profile", params={"fields": "colour"})
    assert error_code(bad_field) == 100
    other = await emu.control.create_number(display_phone_number="15550783882", access_token="other-token")
    foreign = await emu.graph(
        "GET", f"/{pnid}/whatsapp_business_profile", headers={"Authorization": "Bearer other-token"}
    )
    assert error_code(foreign) == 100
    assert other["phone_number_id"] != pnid
    assert (await emu.http.get(f"/v23.0/{pnid}/whatsapp_business_profile")).status_code == 401


async def test_360dialog_profile_routes(emu: Emu) -> None:
    await emu.control.create_number(
        display_phone_number="15550783881", provider="360dialog", d360_api_key="key-1", onboarded=True
    )
    body = {"messaging_product": "whatsapp", "about": "Via 360dialog", "vertical": "RETAIL"}
    updated = await emu.http.post("/whatsapp_business_profile", json=body, headers=KEY)
    assert updated.json() == {"success": True}
    read = await emu.http.get("/whatsapp_business_profile", params={"fields": "about,vertical"}, headers=KEY)
    assert read.json() == {
        "data": [{"about": "Via 360dialog", "vertical": "RETAIL", "messaging_product": "whatsapp"}]
    }
    refused = await emu.http.get("/whatsapp_business_profile", headers={"D360-API-KEY": "nope"})
    assert refused.status_code == 401
