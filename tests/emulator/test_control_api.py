"""The platform control routes under /_emulator, driven through the Python client, and the CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.emulator.conftest import CUSTOMER, Emu
from wacoex.emulator.cli import build_runtime
from wacoex.emulator.client import EmulatorError

pytestmark = pytest.mark.anyio


async def test_create_number_with_its_business_and_waba(emu: Emu) -> None:
    number = await emu.control.create_number(
        display_phone_number="+1 555-078-3881",
        business_name="Lucky Shrub",
        verified_name="Lucky Shrub",
        onboarded=True,
    )
    assert number["display_phone_number"] == "15550783881"
    assert number["state"] == "CONNECTED"
    assert number["coexistence"] is True
    assert number["country_calling_code"] == "1"
    assert [d["kind"] for d in number["devices"]] == ["primary"]
    assert emu.world.businesses[number["business_id"]].name == "Lucky Shrub"
    assert await emu.control.get_number(number["phone_number_id"]) == number
    assert [n["phone_number_id"] for n in await emu.control.list_numbers()] == [number["phone_number_id"]]


async def test_app_only_and_api_only_numbers(emu: Emu) -> None:
    app_only = await emu.control.create_number(display_phone_number="15550783881")
    assert (app_only["state"], app_only["platform_type"], app_only["coexistence"]) == (
        "APP_ONLY",
        "NOT_APPLICABLE",
        False,
    )
    api_only = await emu.control.create_number(display_phone_number="15550783882", on_biz_app=False)
    assert (api_only["state"], api_only["platform_type"]) == ("API_ONLY", "CLOUD_API")


async def test_number_errors(emu: Emu) -> None:
    with pytest.raises(EmulatorError) as missing:
        await emu.control.create_number()
    assert missing.value.status_code == 422
    with pytest.raises(EmulatorError) as unknown:
        await emu.control.create_number(display_phone_number="1555", colour="red")
    assert unknown.value.status_code == 422
    with pytest.raises(EmulatorError) as absent:
        await emu.control.get_number("nope")
    assert absent.value.status_code == 404


async def test_patch_number(emu: Emu) -> None:
    pnid = await emu.coex_number()
    patched = await emu.control.patch_number(pnid, quality="YELLOW", messaging_limit=None)
    assert patched["quality"] == "YELLOW"
    assert patched["messaging_limit"] is None


async def test_customers_and_templates(emu: Emu) -> None:
    pnid = await emu.coex_number()
    customer = await emu.control.create_customer(CUSTOMER, "Sheena", user_id="US.1")
    assert customer["country_calling_code"] == "1"
    assert [c["wa_id"] for c in await emu.control.list_customers()] == [CUSTOMER]
    template = await emu.control.create_template("hi", "en_US", "utility", phone_number_id=pnid)
    assert template["category"] == "UTILITY"
    assert template["status"] == "APPROVED"
    assert [t["name"] for t in await emu.control.list_templates()] == ["hi"]
    with pytest.raises(EmulatorError):
        await emu.control.create_template("hi", "en_US", "other", phone_number_id=pnid)


async def test_config_patch_and_reset(emu: Emu) -> None:
    await emu.control.patch_config(access_tokens=["another-token"], delivery_delay=5)
    pnid = await emu.coex_number()
    ok = await emu.http.get(f"/v23.0/{pnid}", headers={"Authorization": "Bearer another-token"})
    assert ok.status_code == 200
    assert (await emu.control.config())["delivery_delay"] == 5
    await emu.control.reset()
    assert await emu.control.list_numbers() == []
    assert (await emu.control.config())["delivery_delay"] == 5


async def test_openapi_docs_are_served(emu: Emu) -> None:
    paths = (await emu.http.get("/_emulator/openapi.json")).json()["paths"]
    assert "/_emulator/clock/advance" in paths
    assert "/_emulator/faults" in paths


def test_cli_command_is_registered_with_its_options() -> None:
    from wacoex.cli import app

    result = CliRunner().invoke(app, ["emulator", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in (
        "--port",
        "--webhook-url",
        "--app-secret",
        "--verify-token",
        "--seed",
        "--d360-partner-url",
        "--d360-partner-secret",
        "--api-version",
        "--media-base-url",
    ):
        assert option in result.output


def test_cli_world_takes_settings_and_a_seed(tmp_path: object) -> None:
    import pathlib

    assert isinstance(tmp_path, pathlib.Path)
    seed = tmp_path / "s.yaml"
    seed.write_text("name: tiny\nnumbers:\n  - display_phone_number: '15550783881'\n    onboarded: true\n")
    world = build_runtime(webhook_url="http://x/hook", api_version="24.0", seed=str(seed)).world
    assert world.config.api_version == "v24.0"
    assert world.config.webhook_url == "http://x/hook"
    assert [n.display_phone_number for n in world.numbers.values()] == ["15550783881"]
