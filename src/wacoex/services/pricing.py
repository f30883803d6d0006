"""Pricing: what a message will cost before it is sent, and what a number's messages cost in a period."""

from __future__ import annotations

from wacoex.domain import pricing
from wacoex.domain.costs import CostSummary, summarize
from wacoex.domain.pricing import Category, Estimate, RateCard
from wacoex.errors import NotFound
from wacoex.services.ports import CostStore, NumberRef


class Pricing:
    """Prices with the rate card read at start-up; sums the costs the status webhooks recorded."""

    def __init__(self, card: RateCard, costs: CostStore) -> None:
        self.card = card
        self._costs = costs

    def estimate(
        self,
        number: NumberRef,
        wa_id: str | None,
        category: Category | str | None,
        *,
        fep_open: bool,
        window_open: bool = False,
    ) -> Estimate:
        """A message from `number` to `wa_id` (or a BSUID); `category` is the template's (any case),
        None for a message that is not a template."""
        return pricing.estimate(
            self.card,
            recipient=wa_id,
            category=None if category is None else Category(category),
            fep_open=fep_open,
            window_open=window_open,
            sender=number.display_phone_number,
        )

    def costs(
        self,
        phone_number_id: str,
        *,
        since: int | None = None,
        until: int | None = None,
        workspace_id: int | None = None,
    ) -> CostSummary:
        """The number's messages sent in [since, until) (epoch ms), summed by category (a period
        that ends before it starts is empty)."""
        rows = self._costs.cost_rows(phone_number_id, since=since, until=until, workspace_id=workspace_id)
        if rows is None:
            raise NotFound(f"number {phone_number_id} is not registered")
        return summarize(
            self.card, rows.priced, app_messages=rows.app_messages, awaiting_pricing=rows.awaiting_pricing
        )
