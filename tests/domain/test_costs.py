"""Summing the cost ledger: by category, free and billable, charged on delivery at the card's rates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from wacoex.domain.costs import PricedMessage, summarize
from wacoex.domain.pricing import Category
from wacoex.store.rate_card import load_rate_card

CARD = load_rate_card(None)
BRAZIL, INDIA = "5511987654321", "919876543210"


def _pricing(category: str, kind: str, billable: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"pricing_model": "PMP", "type": kind, "category": category}
    if billable is not None:
        out["billable"] = billable
    return out


def test_templates_are_charged_once_delivered_and_free_messages_never() -> None:
    summary = summarize(
        CARD,
        [
            PricedMessage(recipient=BRAZIL, pricing=_pricing("marketing", "regular", True), delivered=True),
            PricedMessage(recipient=INDIA, pricing=_pricing("marketing", "regular", True), delivered=True),
            PricedMessage(recipient=INDIA, pricing=_pricing("marketing", "regular", True), delivered=False),
            PricedMessage(
                recipient=BRAZIL, pricing=_pricing("service", "free_customer_service"), delivered=True
            ),
            PricedMessage(
                recipient=BRAZIL, pricing=_pricing("utility", "free_customer_service"), delivered=True
            ),
            PricedMessage(recipient=BRAZIL, pricing=_pricing("utility", "regular"), delivered=True),
            PricedMessage(
                recipient=INDIA, pricing=_pricing("authentication-international", "regular"), delivered=True
            ),
        ],
        app_messages=4,
        awaiting_pricing=1,
    )
    by = {c.category: c for c in summary.categories}
    assert [c.category for c in summary.categories] == [
        Category.MARKETING,
        Category.UTILITY,
        Category.AUTHENTICATION_INTERNATIONAL,
        Category.SERVICE,
    ]
    marketing = by[Category.MARKETING]
    assert (marketing.messages, marketing.billable, marketing.charged, marketing.free) == (3, 3, 2, 0)
    assert marketing.amount == Decimal("0.0625") + Decimal("0.0107")
    utility = by[Category.UTILITY]
    assert (utility.messages, utility.free, utility.billable, utility.amount) == (2, 1, 1, Decimal("0.0080"))
    assert by[Category.AUTHENTICATION_INTERNATIONAL].amount == Decimal("0.0280")
    assert (by[Category.SERVICE].free, by[Category.SERVICE].amount) == (1, 0)
    total = summary.total
    assert (total.messages, total.free, total.billable, total.charged) == (7, 2, 5, 4)
    assert total.amount == Decimal("0.0625") + Decimal("0.0107") + Decimal("0.0080") + Decimal("0.0280")
    assert (summary.app_messages, summary.awaiting_pricing, summary.currency) == (4, 1, "USD")


def test_a_legacy_pricing_without_type_is_read_by_its_billable_flag() -> None:
    summary = summarize(
        CARD,
        [
            PricedMessage(
                recipient=BRAZIL,
                pricing={"billable": True, "pricing_model": "CBP", "category": "marketing"},
                delivered=True,
            ),
            PricedMessage(
                recipient=BRAZIL,
                pricing={"billable": False, "pricing_model": "CBP", "category": "service"},
                delivered=True,
            ),
        ],
    )
    assert (summary.total.billable, summary.total.free, summary.total.amount) == (1, 1, Decimal("0.0625"))


def test_a_charge_the_card_cannot_price_is_counted_not_guessed() -> None:
    summary = summarize(
        CARD,
        [PricedMessage(recipient=BRAZIL, pricing=_pricing("marketing_lite", "regular"), delivered=True)],
    )
    assert (summary.total.charged, summary.total.unpriced, summary.total.amount) == (1, 1, 0)


def test_nothing_sent_sums_to_zero() -> None:
    summary = summarize(CARD, [])
    assert summary.categories == ()
    assert (summary.total.messages, summary.total.amount) == (0, 0)
