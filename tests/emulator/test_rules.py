"""Coexistence rules: window, free entry point, templates, throughput, pair rate, limits, eligibility."""

from __future__ import annotations

import pytest

from tests.emulator.conftest import BUSINESS_NUMBER, CUSTOMER, Emu, error_code
from wacoex.emulator.platform import rules

pytestmark = pytest.mark.anyio

TEMPLATE_BODY = [{"type": "BODY", "text": "Hi {{1}}, your order {{2}} shipped"}]


def template(name: str = "shipped", params: int = 2) -> dict:
    parameters = [{"type": "text", "text": f"p{i}"} for i in range(params)]
    return {
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": parameters}],
        },
    }


async def test_window_is_closed_without_a_customer_message(emu: Emu) -> None:
    pnid = await emu.coex_number()
    assert error_code(await emu.text(pnid)) == 131047


async def test_customer_message_before_onboarding_does_not_open_the_window(emu: Emu) -> None:
    number = await emu.control.create_number(display_phone_number=BUSINESS_NUMBER)
    pnid = number["phone_number_id"]
    await emu.customer_writes(pnid, text="before onboarding")
    await emu.control.onboard(pnid)
    assert error_code(await emu.text(pnid)) == 131047
    await emu.customer_writes(pnid, text="after onboarding")
    assert (await emu.text(pnid)).status_code == 200


async def test_window_closes_24_hours_after_the_last_customer_message(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    await emu.control.advance("+23h")
    assert (await emu.text(pnid)).status_code == 200
    await emu.control.advance("+1h")
    assert error_code(await emu.text(pnid)) == 131047


async def test_business_app_messages_do_not_open_the_window(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.create_customer(CUSTOMER, "Sheena")
    await emu.control.app_send(pnid, to=CUSTOMER, type="text", content={"body": "from the phone"})
    assert error_code(await emu.text(pnid)) == 131047


async def test_templates_are_allowed_outside_the_window(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.create_customer(CUSTOMER, "Sheena")
    await emu.control.create_template(
        "shipped", "en_US", "UTILITY", phone_number_id=pnid, components=TEMPLATE_BODY
    )
    assert (await emu.send(pnid, template())).status_code == 200


async def test_unknown_template_or_language_is_132001(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.create_template(
        "shipped", "en_US", "UTILITY", phone_number_id=pnid, components=TEMPLATE_BODY
    )
    assert error_code(await emu.send(pnid, template("missing"))) == 132001
    wrong_language = template()
    wrong_language["template"]["language"] = {"code": "pt_BR"}
    assert error_code(await emu.send(pnid, wrong_language)) == 132001


@pytest.mark.parametrize("status", ["PENDING", "REJECTED", "PAUSED"])
async def test_template_that_is_not_approved_is_132001(emu: Emu, status: str) -> None:
    pnid = await emu.coex_number()
    await emu.control.create_template(
        "shipped", "en_US", "UTILITY", phone_number_id=pnid, components=TEMPLATE_BODY, status=status
    )
    assert error_code(await emu.send(pnid, template())) == 132001


async def test_wrong_parameter_count_is_132000(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.create_template(
        "shipped", "en_US", "UTILITY", phone_number_id=pnid, components=TEMPLATE_BODY
    )
    response = await emu.send(pnid, template(params=1))
    assert error_code(response) == 132000


async def test_coexistence_numbers_are_held_to_20_messages_per_second(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.patch_config(pair_burst=1000)
    await emu.customer_writes(pnid)
    codes = [(await emu.text(pnid)).status_code for _ in range(21)]
    assert codes[:20] == [200] * 20
    response = await emu.text(pnid)
    assert error_code(response) == 130429
    assert (
        response.json()["error"]["error_data"]["details"] == "Cloud API message throughput has been reached."
    )
    await emu.control.advance("+1s")
    assert (await emu.text(pnid)).status_code == 200


async def test_api_only_numbers_get_80_messages_per_second(emu: Emu) -> None:
    number = await emu.control.create_number(display_phone_number=BUSINESS_NUMBER, on_biz_app=False)
    pnid = number["phone_number_id"]
    await emu.control.patch_config(pair_burst=1000)
    await emu.customer_writes(pnid)
    codes = [(await emu.text(pnid)).status_code for _ in range(81)]
    assert codes.count(200) == 80
    assert codes[-1] == 400


async def test_pair_rate_limit_is_131056_after_a_burst_then_recovers(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.patch_config(pair_burst=3)
    await emu.customer_writes(pnid)
    assert [(await emu.text(pnid)).status_code for _ in range(3)] == [200, 200, 200]
    assert error_code(await emu.text(pnid)) == 131056
    await emu.control.advance("+6s")
    assert (await emu.text(pnid)).status_code == 200


async def test_portfolio_messaging_limit_counts_unique_users_outside_the_window(emu: Emu) -> None:
    first = await emu.coex_number(business_name="Shop", messaging_limit=2)
    business_id = (await emu.control.get_number(first))["business_id"]
    second = await emu.coex_number("15550783882", business_id=business_id)
    for pnid in (first, second):
        await emu.control.create_template("hello", "en_US", "MARKETING", phone_number_id=pnid)
    hello = {"type": "template", "template": {"name": "hello", "language": {"code": "en_US"}}}
    for wa_id in ("16505550001", "16505550002", "16505550003"):
        await emu.control.create_customer(wa_id, "C")
    assert (await emu.send(first, {**hello, "to": "16505550001"})).status_code == 200
    assert (await emu.send(second, {**hello, "to": "16505550002"})).status_code == 200
    assert (await emu.send(first, {**hello, "to": "16505550001"})).status_code == 200
    assert error_code(await emu.send(second, {**hello, "to": "16505550003"})) == 131048
    await emu.control.advance("+24h")
    assert (await emu.send(second, {**hello, "to": "16505550003"})).status_code == 200


async def test_ctwa_reply_opens_a_72_hour_free_entry_point(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.create_template("promo", "en_US", "MARKETING", phone_number_id=pnid)
    await emu.customer_writes(pnid, referral=True)
    await emu.text(pnid, "thanks for your interest")
    await emu.control.advance("+48h")
    promo = {"type": "template", "template": {"name": "promo", "language": {"code": "en_US"}}}
    assert error_code(await emu.text(pnid)) == 131047
    assert (await emu.send(pnid, promo)).status_code == 200
    await emu.control.advance("+25h")
    assert (await emu.send(pnid, promo)).status_code == 200
    await emu.control.advance("+5s")
    pricings = [s["pricing"] for s in emu.receiver.statuses() if s["status"] == "sent"]
    assert [p["type"] for p in pricings] == ["free_entry_point", "free_entry_point", "regular"]
    assert pricings[0]["category"] == "referral_conversion"
    assert emu.receiver.statuses()[0]["conversation"]["origin"]["type"] == "referral_conversion"


async def test_many_coexistence_numbers_in_one_business(emu: Emu) -> None:
    first = await emu.coex_number(business_name="Chain")
    business_id = (await emu.control.get_number(first))["business_id"]
    others = [await emu.coex_number(f"1555078390{i}", business_id=business_id) for i in range(5)]
    numbers = [n for n in await emu.control.list_numbers() if n["business_id"] == business_id]
    assert len(numbers) == 6
    assert all(n["coexistence"] for n in numbers)
    assert len({n["waba_id"] for n in numbers}) == 6
    assert others


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"app_version": "2.24.16"}, "app_version"),
        ({"age_days": 3}, "too_new"),
        ({"quality": "RED"}, "quality"),
        ({"display_phone_number": "2348031234567"}, "country"),
        ({"display_phone_number": "27821234567"}, "country"),
        ({"on_biz_app": False}, "api_only"),
    ],
)
async def test_onboarding_eligibility(emu: Emu, fields: dict, code: str) -> None:
    body = {"display_phone_number": BUSINESS_NUMBER, **fields}
    number = await emu.control.create_number(**body)
    error = rules.check_onboarding_eligible(emu.world, emu.world.numbers[number["phone_number_id"]])
    assert error is not None
    assert error.code == code


async def test_eligible_number_and_configurable_blocked_countries(emu: Emu) -> None:
    number = await emu.control.create_number(
        display_phone_number="2348031234567", app_version="2.24.17", age_days=7
    )
    found = emu.world.numbers[number["phone_number_id"]]
    assert rules.check_onboarding_eligible(emu.world, found) is not None
    await emu.control.patch_config(blocked_country_codes=[])
    assert rules.check_onboarding_eligible(emu.world, found) is None
