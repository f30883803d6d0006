"""The cost ledger summed: what each API message costs, from the `pricing` its status webhooks reported.

Meta's `pricing` says the category and whether the message is charged (`type: regular`) but not the
amount: that is the rate card's rate for the category in the recipient's market, charged once the
message is delivered (coexistence-spec.md §5.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from wacoex.domain.pricing import RATED, ZERO, Category, PricingType, RateCard


@dataclass(frozen=True, slots=True, kw_only=True)
class PricedMessage:
    """An API message with the `pricing` object of its status webhooks."""

    recipient: str | None  # its wa_id, else its BSUID
    pricing: Mapping[str, Any]
    delivered: bool  # delivered, read or played: Meta charges on delivery


@dataclass(slots=True)
class CategoryCost:
    """Messages of one category: free or billable; billable ones are charged once delivered."""

    category: Category | None  # None: the total of every category
    messages: int = 0
    free: int = 0
    billable: int = 0
    charged: int = 0
    unpriced: int = 0  # charged, but the rate card has no rate for the recipient's market
    amount: Decimal = ZERO

    def add(self, *, billable: bool, charged: bool, amount: Decimal | None) -> None:
        self.messages += 1
        if not billable:
            self.free += 1
            return
        self.billable += 1
        if charged:
            self.charged += 1
            if amount is None:
                self.unpriced += 1
            else:
                self.amount += amount

    def absorb(self, other: CategoryCost) -> None:
        self.messages += other.messages
        self.free += other.free
        self.billable += other.billable
        self.charged += other.charged
        self.unpriced += other.unpriced
        self.amount += other.amount


@dataclass(frozen=True, slots=True, kw_only=True)
class CostSummary:
    currency: str
    categories: tuple[CategoryCost, ...]
    total: CategoryCost
    app_messages: int = 0  # sent from the Business app: free, outside Cloud API billing
    awaiting_pricing: int = 0  # sent through the API, no status with pricing yet


def billable(pricing: Mapping[str, Any]) -> bool:
    """`type` says it (`billable` is to be deprecated); only a legacy object without `type` is read by it."""
    kind = PricingType(str(pricing.get("type") or ""))
    if kind is PricingType.UNKNOWN:
        return pricing.get("billable") is True
    return kind is PricingType.REGULAR


def summarize(
    card: RateCard,
    messages: Iterable[PricedMessage],
    *,
    app_messages: int = 0,
    awaiting_pricing: int = 0,
) -> CostSummary:
    """Sum by category, priced with `card`; categories in the card's order, then the others."""
    by_category: dict[Category, CategoryCost] = {}
    for m in messages:
        category = Category(str(m.pricing.get("category") or ""))
        is_billable = billable(m.pricing)
        charged = is_billable and m.delivered
        amount = card.rate(card.market_for(m.recipient), category) if charged else ZERO
        cost = by_category.setdefault(category, CategoryCost(category))
        cost.add(billable=is_billable, charged=charged, amount=amount)
    order = {c: i for i, c in enumerate((*RATED, *Category))}
    categories = tuple(sorted(by_category.values(), key=lambda c: order[c.category or Category.UNKNOWN]))
    total = CategoryCost(None)
    for cost in categories:
        total.absorb(cost)
    return CostSummary(
        currency=card.currency,
        categories=categories,
        total=total,
        app_messages=app_messages,
        awaiting_pricing=awaiting_pricing,
    )
