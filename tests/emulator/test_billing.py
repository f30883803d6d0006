"""Per-message pricing: rate card markets, free rules, the ledger, pricing objects on statuses."""

from __future__ import annotations

import pytest

from tests.emulator.conftest import CUSTOMER, Emu
from wacoex.emulator.platform.billing import RateCard, calling_code_of, decide

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("digits", "market"),
    [
        ("16505551234", "North America"),
        ("18095551234", "Rest of Latin America"),
        ("5511987654321", "Brazil"),
        ("919876543210", "India"),
        ("447700900123", "United Kingdom"),
        ("4369912345678", "Rest of Western Europe"),
        ("420601123456", "Rest of Central and Eastern Europe"),
        ("61412345678", "Rest of Asia Pacific"),
        ("2348031234567", "Nigeria"),
        ("213551234567", "Rest of Africa"),
        ("97312345678", "Rest of Middle East"),
    ],
)
def test_markets_come_from_the_longest_calling_code_prefix(digits: str, market: str) -> None:
    assert RateCard.default().market_for(digits).name == market


@pytest.mark.parametrize(
    ("digits", "code"), [("16505551234", "1"), ("447700900123", "44"), ("2348031234567", "234")]
)
def test_calling_code_of_a_number(digits: str, code: str) -> None:
    assert calling_code_of(digits) == code


def test_free_rules() -> None:
    card = RateCard.default()
    service = decide(card, recipient=CUSTOMER, template_category=None, window_open=True, fep_open=False)
    assert service.pricing() == {
        "billable": False,
        "pricing_model": "PMP",
        "type": "free_customer_service",
        "category": "service",
    }
    utility_in_window = decide(
        card, recipient=CUSTOMER, template_category="UTILITY", window_open=True, fep_open=False
    )
    assert (utility_in_window.category, utility_in_window.pricing_type) == (
        "utility",
        "free_customer_service",
    )
    utility_outside = decide(
        card, recipient=CUSTOMER, template_category="UTILITY", window_open=False, fep_open=False
    )
    assert utility_outside.billable
    assert utility_outside.price == 0.0034
    marketing_in_window = decide(
        card, recipient=CUSTOMER, template_category="MARKETING", window_open=True, fep_open=False
    )
    assert marketing_in_window.pricing_type == "regular"
    fep = decide(card, recipient=CUSTOMER, template_category="MARKETING", window_open=False, fep_open=True)
    assert fep.pricing() == {
        "billable": False,
        "pricing_model": "PMP",
        "type": "free_entry_point",
        "category": "referral_conversion",
    }


def test_authentication_international_needs_eligibility_and_a_foreign_market() -> None:
    card = RateCard.default()
    args = {
        "recipient": "919876543210",
        "template_category": "AUTHENTICATION",
        "window_open": False,
        "fep_open": False,
    }
    assert decide(card, **args, sender_calling_code="15550783881").category == "authentication"
    intl = decide(card, **args, sender_calling_code="15550783881", auth_international_eligible=True)
    assert intl.category == "authentication-international"
    assert intl.origin_type == "authentication_international"
    domestic = decide(card, **args, sender_calling_code="919000000000", auth_international_eligible=True)
    assert domestic.category == "authentication"


async def test_ledger_charges_templates_on_delivery_only(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.create_customer(CUSTOMER, "Sheena")
    await emu.control.create_customer("919876543210", "Asha")
    await emu.control.create_template("promo", "en_US", "MARKETING", phone_number_id=pnid)
    promo = {"type": "template", "template": {"name": "promo", "language": {"code": "en_US"}}}
    await emu.send(pnid, promo)
    await emu.send(pnid, {**promo, "to": "919876543210"})
    await emu.control.flush()
    ledger = await emu.control.ledger()
    assert ledger["totals"] == {"USD": 0.0}
    await emu.control.advance("+2s")
    ledger = await emu.control.ledger(pnid)
    assert ledger["totals"] == {"USD": round(0.0250 + 0.0107, 6)}
    assert {e["market"] for e in ledger["entries"]} == {"North America", "India"}
    assert ledger["count_by_category"] == {"marketing": 2}


async def test_utility_inside_window_is_free_and_says_so_in_the_status(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.customer_writes(pnid)
    await emu.control.create_template("receipt", "en_US", "UTILITY", phone_number_id=pnid)
    await emu.send(pnid, {"type": "template", "template": {"name": "receipt", "language": {"code": "en_US"}}})
    await emu.control.advance("+2s")
    pricing = [s["pricing"] for s in emu.receiver.statuses()]
    assert pricing[0] == {
        "billable": False,
        "pricing_model": "PMP",
        "type": "free_customer_service",
        "category": "utility",
    }
    assert (await emu.control.ledger())["totals"] == {"USD": 0.0}


async def test_messages_from_the_app_are_free_and_have_no_statuses(emu: Emu) -> None:
    pnid = await emu.coex_number()
    await emu.control.create_customer(CUSTOMER, "Sheena")
    await emu.control.app_send(pnid, to=CUSTOMER, type="text", content={"body": "from the phone"})
    await emu.control.advance("+1m")
    assert emu.receiver.statuses() == []
    assert (await emu.control.ledger())["entries"] == []
