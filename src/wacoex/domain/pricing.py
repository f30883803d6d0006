"""Per-message pricing: the rate card (category x market), a recipient's market, and the free rules.

Meta charges a template message when it is delivered, at the rate of its category in the recipient's
market (coexistence-spec.md §5.1). Free: every non-template (service) message, a utility template
inside an open customer service window, everything inside an open free entry point window, and
everything the owner sends from the Business app (it never reaches Cloud API billing, §5.3).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers

from wacoex.domain.enums import _Open
from wacoex.errors import ConfigError


class Category(_Open):
    """`pricing.category` of a status webhook (Meta spells one `authentication-international`)."""

    MARKETING = "marketing"
    MARKETING_LITE = "marketing_lite"
    UTILITY = "utility"
    AUTHENTICATION = "authentication"
    AUTHENTICATION_INTERNATIONAL = "authentication_international"
    SERVICE = "service"
    REFERRAL_CONVERSION = "referral_conversion"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            return super()._missing_(value.strip().lower().replace("-", "_"))
        return cls.UNKNOWN


class PricingType(_Open):
    """`pricing.type`: `regular` is charged on delivery; the other two are free."""

    REGULAR = "regular"
    FREE_CUSTOMER_SERVICE = "free_customer_service"
    FREE_ENTRY_POINT = "free_entry_point"
    UNKNOWN = "unknown"


RATED = (
    Category.MARKETING,
    Category.UTILITY,
    Category.AUTHENTICATION,
    Category.AUTHENTICATION_INTERNATIONAL,
)
"""The categories a rate card has a column for, in the card's column order."""

ANY_REGION = "*"
_REQUIRED = ("market", "regions", "currency", "marketing", "utility", "authentication")
_REGION = re.compile(r"^[A-Z]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Market:
    name: str
    rates: Mapping[Category, Decimal]


@dataclass(frozen=True, slots=True, kw_only=True)
class RateCard:
    """Markets by the ISO region of the recipient; `other` prices every region listed nowhere else."""

    currency: str
    markets: tuple[Market, ...]
    by_region: Mapping[str, Market]
    other: Market | None = None

    def market_for(self, recipient: str | None) -> Market | None:
        """The market of a wa_id (digits) or a BSUID (`BR.1502…`); None if the card prices it nowhere."""
        region = region_of(recipient)
        if region is None:
            return self.other
        return self.by_region.get(region, self.other)

    def rate(self, market: Market | None, category: Category) -> Decimal | None:
        return None if market is None else market.rates.get(category)


def region_of(recipient: str | None) -> str | None:
    """The ISO 3166 region of a recipient: a wa_id's country (phonenumbers), or a BSUID's prefix.

    A number phonenumbers does not know as valid (555 test numbers, ranges it has not heard of) is
    placed in the main country of its calling code, which is what Meta's per-calling-code rates do.
    """
    if not recipient:
        return None
    head, dot, _ = recipient.partition(".")
    if dot:
        return head.upper() if _REGION.match(head.upper()) else None
    digits = "".join(ch for ch in recipient if ch.isdigit())
    if not digits:
        return None
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    if region is None and parsed.country_code is not None:
        region = phonenumbers.region_code_for_country_code(parsed.country_code)
    return region if region and _REGION.match(region) else None


def parse_rate_card(text: str, source: str) -> RateCard:
    """A rate card from its CSV text (docs/configuration.md, "Rate card"); ConfigError names the line."""
    lines = [
        (n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")
    ]
    if not lines:
        raise ConfigError(f"rate card {source}: no header and no markets")
    header_line, header = lines[0]
    columns = [c.strip() for c in next(csv.reader([header]))]
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise ConfigError(f"rate card {source}:{header_line}: missing column(s) {', '.join(missing)}")
    markets: list[Market] = []
    by_region: dict[str, Market] = {}
    other: Market | None = None
    currency: str | None = None
    for lineno, values in zip(
        (n for n, _ in lines[1:]), csv.reader(line for _, line in lines[1:]), strict=True
    ):
        where = f"rate card {source}:{lineno}"
        if len(values) != len(columns):
            raise ConfigError(f"{where}: {len(values)} fields, the header has {len(columns)}")
        row = {c: v.strip() for c, v in zip(columns, values, strict=True)}
        name = row["market"]
        if not name:
            raise ConfigError(f"{where}: the market has no name")
        if not _CURRENCY.match(row["currency"]):
            raise ConfigError(f"{where}: currency {row['currency']!r} is not a three-letter code")
        if currency is not None and row["currency"] != currency:
            raise ConfigError(f"{where}: currency {row['currency']} in a card of {currency} (one per card)")
        currency = row["currency"]
        market = Market(name=name, rates=_rates(row, where))
        regions = row["regions"].split()
        if not regions:
            raise ConfigError(f"{where}: market {name!r} has no regions (use * for every other region)")
        for region in regions:
            if region == ANY_REGION:
                if other is not None:
                    raise ConfigError(f"{where}: {name!r} and {other.name!r} both claim every other region")
                other = market
            elif not _REGION.match(region):
                raise ConfigError(f"{where}: region {region!r} is not an ISO 3166 two-letter code")
            elif region in by_region:
                raise ConfigError(f"{where}: region {region} is already in market {by_region[region].name!r}")
            else:
                by_region[region] = market
        markets.append(market)
    if currency is None:
        raise ConfigError(f"rate card {source}: no markets")
    return RateCard(currency=currency, markets=tuple(markets), by_region=by_region, other=other)


def _rates(row: dict[str, str], where: str) -> dict[Category, Decimal]:
    rates: dict[Category, Decimal] = {}
    for category in RATED:
        text = row.get(category.value, "")
        if not text:
            continue
        try:
            rate = Decimal(text)
        except InvalidOperation:
            raise ConfigError(f"{where}: {category.value} rate {text!r} is not a number") from None
        if not rate.is_finite() or rate < 0:
            raise ConfigError(f"{where}: {category.value} rate {text!r} is not a price")
        rates[category] = rate
    return rates


@dataclass(frozen=True, slots=True, kw_only=True)
class Estimate:
    """What a message will cost, as Meta's `pricing` object will say, and the amount charged on delivery.

    `amount` is 0 for a free message and None when the card has no rate for a billable one.
    """

    category: Category
    pricing_type: PricingType
    billable: bool
    amount: Decimal | None
    currency: str
    market: str | None


ZERO = Decimal(0)


def estimate(
    card: RateCard,
    *,
    recipient: str | None,
    category: Category | None,
    fep_open: bool,
    window_open: bool = False,
    sender: str | None = None,
) -> Estimate:
    """Price one API message to `recipient` (`category` None: not a template, a service message).

    `authentication_international` is charged only across borders (the business's number `sender` in
    another market) and where the market has that rate; otherwise it is plain authentication.
    """
    market = card.market_for(recipient)
    name = market.name if market is not None else None

    def free(cat: Category, kind: PricingType) -> Estimate:
        return Estimate(
            category=cat, pricing_type=kind, billable=False, amount=ZERO, currency=card.currency, market=name
        )

    if fep_open:
        return free(Category.REFERRAL_CONVERSION, PricingType.FREE_ENTRY_POINT)
    if category is None or category is Category.SERVICE:
        return free(Category.SERVICE, PricingType.FREE_CUSTOMER_SERVICE)
    if category is Category.AUTHENTICATION_INTERNATIONAL and (
        card.rate(market, category) is None or (sender is not None and card.market_for(sender) is market)
    ):
        category = Category.AUTHENTICATION
    if category is Category.UTILITY and window_open:
        return free(Category.UTILITY, PricingType.FREE_CUSTOMER_SERVICE)
    return Estimate(
        category=category,
        pricing_type=PricingType.REGULAR,
        billable=True,
        amount=card.rate(market, category),
        currency=card.currency,
        market=name,
    )
