"""Any documented account_update event on demand: its value shape, odd shapes merged in, unknown
names refused, and what each event does to the number (offboard, reconnect, disable)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.conftest import BUSINESS_NUMBER, START, Emu, error_code

pytestmark = pytest.mark.anyio
DAY = 86400


async def fire(emu: Emu, pnid: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = await emu.http.post(f"/_emulator/numbers/{pnid}/account-update", json=body)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


async def numbered(emu: Emu) -> tuple[str, str, str]:
    pnid = await emu.coex_number()
    number = emu.world.numbers[pnid]
    return pnid, number.waba_id, emu.world.wabas[number.waba_id].business_id


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"event": "ACCOUNT_DELETED"}, {"event": "ACCOUNT_DELETED"}),
        (
            {"event": "ACCOUNT_RESTRICTION", "restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION"},
            {
                "event": "ACCOUNT_RESTRICTION",
                "restriction_info": [
                    {
                        "restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION",
                        "expiration": int(START) + 86400,
                    }
                ],
            },
        ),
        (
            {"event": "ACCOUNT_VIOLATION", "violation_type": "ADULT"},
            {"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "ADULT"}},
        ),
        (
            {"event": "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE", "country": "BR"},
            {"country": "BR", "event": "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE"},
        ),
        (
            {"event": "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE", "start_time": 1717200000},
            {
                "event": "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE",
                "auth_international_rate_eligibility": {"exception_countries": [], "start_time": 1717200000},
            },
        ),
        (
            {"event": "DISABLED_UPDATE", "ban_state": "SCHEDULE_FOR_DISABLE", "ban_date": "2027-01-01"},
            {
                "event": "DISABLED_UPDATE",
                "ban_info": {"waba_ban_state": "SCHEDULE_FOR_DISABLE", "waba_ban_date": "2027-01-01"},
            },
        ),
        (
            {"event": "VOLUME_BASED_PRICING_TIER_UPDATE", "tier": "250001:2000000", "region": "India"},
            {
                "event": "VOLUME_BASED_PRICING_TIER_UPDATE",
                "volume_tier_info": {
                    "tier_update_time": int(START),
                    "pricing_category": "UTILITY",
                    "tier": "250001:2000000",
                    "effective_month": "2027-01",
                    "region": "India",
                },
            },
        ),
    ],
)
async def test_events_carry_their_documented_shape(
    emu: Emu, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    pnid, _, _ = await numbered(emu)
    emu.receiver.received.clear()
    result = await fire(emu, pnid, body)
    assert result["value"] == expected
    assert result["webhooks"] == 1
    assert emu.receiver.values("account_update") == [expected]
    [delivery] = emu.receiver.received
    entry = delivery.json["entry"][0]
    assert isinstance(entry["time"], int)


async def test_waba_info_events_name_the_customer_waba(emu: Emu) -> None:
    pnid, waba_id, business_id = await numbered(emu)
    info = {"waba_id": waba_id, "owner_business_id": business_id}
    app_id = emu.world.config.app_id
    for event, extra in [
        ("PARTNER_ADDED", {}),
        ("MM_LITE_TERMS_SIGNED", {}),
        ("PARTNER_APP_INSTALLED", {"partner_app_id": app_id}),
        ("PARTNER_APP_UNINSTALLED", {"partner_app_id": app_id}),
    ]:
        value = (await fire(emu, pnid, {"event": event}))["value"]
        assert value == {"event": event, "waba_info": {**info, **extra}}
    linked = (await fire(emu, pnid, {"event": "AD_ACCOUNT_LINKED", "ad_account_id": "act_42"}))["value"]
    assert linked["waba_info"] == {**info, "ad_account_linked": "act_42"}
    certified = await fire(
        emu,
        pnid,
        {
            "event": "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE",
            "status": "FAILED",
            "rejection_reasons": ["BUSINESS_NOT_ELIGIBLE"],
        },
    )
    assert certified["value"]["partner_client_certification_info"] == {
        "client_business_id": business_id,
        "status": "FAILED",
        "rejection_reasons": ["BUSINESS_NOT_ELIGIBLE"],
    }


@pytest.mark.parametrize(
    ("variant", "keys"),
    [
        ("phone_number", ["phone_number", "event", "disconnection_info"]),
        ("waba_info", ["event", "waba_info", "disconnection_info"]),
        ("both", ["phone_number", "event", "waba_info", "disconnection_info"]),
    ],
)
async def test_partner_removed_in_either_documented_variant_offboards(
    emu: Emu, variant: str, keys: list[str]
) -> None:
    pnid, waba_id, _ = await numbered(emu)
    body = {"event": "PARTNER_REMOVED", "variant": variant, "reason": "PRIMARY_INACTIVITY"}
    result = await fire(emu, pnid, {**body, "initiated_by": "SYSTEM"})
    value = result["value"]
    assert list(value) == keys
    assert value["disconnection_info"] == {"reason": "PRIMARY_INACTIVITY", "initiated_by": "SYSTEM"}
    if "phone_number" in value:
        assert value["phone_number"] == BUSINESS_NUMBER
    if "waba_info" in value:
        assert value["waba_info"]["waba_id"] == waba_id
    number = emu.world.numbers[pnid]
    assert (number.state, number.platform_type) == ("OFFBOARDED", "NOT_APPLICABLE")
    assert result["state"] == "OFFBOARDED"
    assert error_code(await emu.text(pnid)) == 133010


async def test_bad_values_are_422_and_emit_nothing(emu: Emu) -> None:
    pnid, _, _ = await numbered(emu)
    emu.receiver.received.clear()
    for body in [
        {"event": "PARTNER_REMOVED", "reason": "BORED"},
        {"event": "PARTNER_REMOVED", "variant": "neither"},
        {"event": "DISABLED_UPDATE", "ban_state": "MAYBE"},
        {"event": "ACCOUNT_RESTRICTION", "expiration": "soon"},
        {"event": "ACCOUNT_VIOLATION", "value": ["not", "an", "object"]},
        {},
    ]:
        await fire(emu, pnid, body, status=422)
    assert emu.receiver.received == []
    assert emu.world.numbers[pnid].state == "CONNECTED"


async def test_unknown_events_need_allow_unknown(emu: Emu) -> None:
    pnid, _, _ = await numbered(emu)
    refused = await fire(emu, pnid, {"event": "ACCOUNT_EXPLODED"}, status=422)
    message = refused["error"]["message"]
    assert "ACCOUNT_EXPLODED" in message
    assert "allow_unknown" in message
    assert "PARTNER_REMOVED" in message
    emitted = await fire(
        emu, pnid, {"event": "ACCOUNT_EXPLODED", "allow_unknown": True, "value": {"size": "large"}}
    )
    assert emitted["value"] == {"event": "ACCOUNT_EXPLODED", "size": "large"}
    assert emu.receiver.values("account_update")[-1] == {"event": "ACCOUNT_EXPLODED", "size": "large"}


async def test_extra_value_keys_are_merged_so_tests_can_send_odd_shapes(emu: Emu) -> None:
    pnid, _, _ = await numbered(emu)
    odd = {"disconnection_info": {"reason": "SOMETHING_NEW"}, "phone_number": "+1 555 0100"}
    value = (await fire(emu, pnid, {"event": "PARTNER_REMOVED", "value": odd}))["value"]
    assert value["disconnection_info"] == {"reason": "SOMETHING_NEW"}
    assert value["phone_number"] == "+1 555 0100"
    assert "waba_info" in value


@pytest.mark.parametrize("event", ["ACCOUNT_OFFBOARDED", "ACCOUNT_DELETED"])
async def test_offboarding_events_stop_the_api(emu: Emu, event: str) -> None:
    pnid, _, _ = await numbered(emu)
    await emu.customer_writes(pnid)
    result = await fire(emu, pnid, {"event": event})
    assert result["value"] == {"event": event}
    assert emu.world.numbers[pnid].platform_type == "NOT_APPLICABLE"
    assert error_code(await emu.text(pnid)) == 133010


async def test_account_reconnected_connects_again_with_fresh_sync_counters(emu: Emu) -> None:
    pnid, _, _ = await numbered(emu)
    sync = {"messaging_product": "whatsapp", "sync_type": "smb_app_state_sync"}
    assert (await emu.graph("POST", f"/{pnid}/smb_app_data", json=sync)).status_code == 200
    await fire(emu, pnid, {"event": "ACCOUNT_OFFBOARDED"})
    await emu.control.advance("+2d")
    await fire(emu, pnid, {"event": "ACCOUNT_RECONNECTED"})
    number = emu.world.numbers[pnid]
    assert (number.state, number.platform_type) == ("CONNECTED", "CLOUD_API")
    assert number.onboarded_at == emu.world.clock.now()
    assert number.sync_done == set()
    assert (await emu.graph("POST", f"/{pnid}/smb_app_data", json=sync)).status_code == 200
    await emu.customer_writes(pnid)
    assert (await emu.text(pnid)).status_code == 200


async def test_disabled_update_disable_refuses_sends_until_reinstated(emu: Emu) -> None:
    pnid, _, _ = await numbered(emu)
    await emu.customer_writes(pnid)
    result = await fire(emu, pnid, {"event": "DISABLED_UPDATE", "ban_state": "DISABLE"})
    assert result["disabled"] is True
    assert result["value"]["ban_info"] == {"waba_ban_state": "DISABLE", "waba_ban_date": "2027-01-15"}
    refused = await emu.text(pnid)
    assert error_code(refused) == 131031
    assert refused.json()["error"]["message"] == "(#131031) Business Account locked"
    await fire(emu, pnid, {"event": "DISABLED_UPDATE", "ban_state": "REINSTATE"})
    assert (await emu.text(pnid)).status_code == 200


async def test_restrictions_and_violations_change_nothing_else(emu: Emu) -> None:
    pnid, _, _ = await numbered(emu)
    await emu.customer_writes(pnid)
    for event in ("ACCOUNT_RESTRICTION", "ACCOUNT_VIOLATION", "PARTNER_ADDED", "MM_LITE_TERMS_SIGNED"):
        await fire(emu, pnid, {"event": event})
    number = emu.world.numbers[pnid]
    assert (number.state, number.disabled) == ("CONNECTED", False)
    assert (await emu.text(pnid)).status_code == 200


async def test_unknown_number_is_404(emu: Emu) -> None:
    await fire(emu, "999", {"event": "ACCOUNT_DELETED"}, status=404)
