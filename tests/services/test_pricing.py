"""The pricing service: estimates for a number's send, and costs summed from the store's rows."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from wacoex.domain.costs import PricedMessage
from wacoex.domain.pricing import Category, PricingType
from wacoex.errors import NotFound
from wacoex.services.ports import CostRows, NumberRef
from wacoex.services.pricing import Pricing
from wacoex.store.rate_card import load_rate_card

NUMBER = NumberRef(
    id=1,
    phone_number_id="106540352242922",
    display_phone_number="15550783881",
    waba_id="102290129340398",
    provider="meta",
    coexistence=True,
    state="connected",
    state_changed_at=None,
)


class FakeCosts:
    """A CostStore holding one number's rows; records what it was asked."""

    def __init__(self, rows: CostRows) -> None:
        self.rows = rows
        self.asked: list[tuple[str, int | None, int | None, int | None]] = []

    def cost_rows(
        self, phone_number_id: str, *, since: int | None, until: int | None, workspace_id: int | None = None
    ) -> CostRows | None:
        self.asked.append((phone_number_id, since, until, workspace_id))
        return self.rows if phone_number_id == NUMBER.phone_number_id else None


def _pricing(costs: FakeCosts | None = None) -> Pricing:
    return Pricing(
        load_rate_card(None), costs or FakeCosts(CostRows(priced=[], app_messages=0, awaiting_pricing=0))
    )


def test_an_estimate_takes_the_templates_category_as_the_provider_spells_it() -> None:
    priced = _pricing().estimate(NUMBER, "5511987654321", "MARKETING", fep_open=False)
    assert (priced.category, priced.pricing_type, priced.billable) == (
        Category.MARKETING,
        PricingType.REGULAR,
        True,
    )
    assert (priced.amount, priced.currency, priced.market) == (Decimal("0.0625"), "USD", "Brazil")


def test_an_estimate_of_a_message_that_is_not_a_template_is_free() -> None:
    priced = _pricing().estimate(NUMBER, "5511987654321", None, fep_open=False, window_open=True)
    assert (priced.category, priced.billable, priced.amount) == (Category.SERVICE, False, 0)


def test_authentication_international_is_domestic_for_a_number_in_the_same_market() -> None:
    indian = dataclasses.replace(NUMBER, display_phone_number="919812345678")
    abroad = _pricing().estimate(NUMBER, "919876543210", "authentication_international", fep_open=False)
    at_home = _pricing().estimate(indian, "919876543210", "authentication_international", fep_open=False)
    assert abroad.category is Category.AUTHENTICATION_INTERNATIONAL
    assert at_home.category is Category.AUTHENTICATION


def test_costs_sum_the_stores_rows_for_the_period() -> None:
    pricing = {"type": "regular", "category": "marketing", "pricing_model": "PMP"}
    store = FakeCosts(
        CostRows(
            priced=[PricedMessage(recipient="919876543210", pricing=pricing, delivered=True)],
            app_messages=2,
            awaiting_pricing=1,
        )
    )
    summary = _pricing(store).costs(NUMBER.phone_number_id, since=1000, until=2000, workspace_id=1)
    assert store.asked == [(NUMBER.phone_number_id, 1000, 2000, 1)]
    assert (summary.total.amount, summary.app_messages, summary.awaiting_pricing) == (Decimal("0.0107"), 2, 1)


def test_costs_of_an_unknown_number_are_not_found() -> None:
    with pytest.raises(NotFound, match="number 999 is not registered"):
        _pricing().costs("999")
