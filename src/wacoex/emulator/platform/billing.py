"""Per-message pricing (PMP) for API sends: the rate card, the free rules, the ledger, ``pricing`` objects.

Free (coexistence-spec.md §5.1, §5.3): non-template (service) messages; utility templates inside an
open customer service window; everything inside an open free entry point window; everything sent
from the Business app (it never reaches the Cloud API ledger). Templates are charged on delivery.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

# Two-digit ITU zones; any other code that is not 1 or 7 has three digits.
_TWO_DIGIT_CODES = frozenset(
    [
        "20",
        "27",
        "30",
        "31",
        "32",
        "33",
        "34",
        "36",
        "39",
        "40",
        "41",
        "43",
        "44",
        "45",
        "46",
        "47",
        "48",
        "49",
        "51",
        "52",
        "53",
        "54",
        "55",
        "56",
        "57",
        "58",
        "60",
        "61",
        "62",
        "63",
        "64",
        "65",
        "66",
        "81",
        "82",
        "84",
        "86",
        "90",
        "91",
        "92",
        "93",
        "94",
        "95",
        "98",
    ]
)


def calling_code_of(digits: str) -> str:
    """The country calling code a phone number (digits only) starts with."""
    digits = "".join(ch for ch in digits if ch.isdigit())
    if not digits:
        return ""
    if digits[0] in "17":
        return digits[0]
    if digits[:2] in _TWO_DIGIT_CODES:
        return digits[:2]
    return digits[:3]


@dataclass(frozen=True)
class Market:
    name: str
    iso: str
    currency: str
    rates: dict[str, float]


class RateCard:
    """Markets keyed by calling-code prefix; the longest prefix of the recipient's number wins."""

    def __init__(self, markets: list[tuple[list[str], Market]], other: Market) -> None:
        self._by_prefix: dict[str, Market] = {}
        for prefixes, market in markets:
            for prefix in prefixes:
                self._by_prefix[prefix] = market
        self.other = other
        self._longest = max((len(p) for p in self._by_prefix), default=1)

    @classmethod
    def from_csv(cls, text: str) -> RateCard:
        rows = csv.DictReader(line for line in text.splitlines() if line.strip() and not line.startswith("#"))
        markets: list[tuple[list[str], Market]] = []
        other: Market | None = None
        for row in rows:
            rates = {
                category: float(row[column])
                for category, column in (
                    ("marketing", "marketing"),
                    ("utility", "utility"),
                    ("authentication", "authentication"),
                    ("authentication-international", "authentication_international"),
                )
                if row.get(column)
            }
            market = Market(row["market"], row["iso"], row["currency"], rates)
            prefixes = row["calling_codes"].split()
            if prefixes:
                markets.append((prefixes, market))
            else:
                other = market
        return cls(markets, other or Market("Other", "", "USD", {}))

    @classmethod
    def default(cls) -> RateCard:
        text = resources.files("wacoex.emulator").joinpath("data/rate_card.csv").read_text("utf-8")
        return cls.from_csv(text)

    def market_for(self, digits: str) -> Market:
        for length in range(min(self._longest, len(digits)), 0, -1):
            found = self._by_prefix.get(digits[:length])
            if found is not None:
                return found
        return self.other


@dataclass
class LedgerEntry:
    wamid: str
    phone_number_id: str
    waba_id: str
    business_id: str
    wa_id: str
    market: str
    category: str
    pricing_type: str
    billable: bool
    price: float
    currency: str
    sent_at: float
    origin: str = "api"
    delivered_at: float | None = None

    @property
    def amount(self) -> float:
        """What the message costs: its price when billable, else 0."""
        return self.price if self.billable else 0.0

    @property
    def charged(self) -> float:
        """The amount once charged (on delivery), else 0."""
        return self.amount if self.delivered_at is not None else 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"amount": self.amount, "charged": self.charged, "at": self.sent_at}


class Ledger:
    """Every API-sent message with its category and price; charged when delivered (PMP)."""

    def __init__(self) -> None:
        self.entries: dict[str, LedgerEntry] = {}

    def record(self, entry: LedgerEntry) -> None:
        self.entries[entry.wamid] = entry

    def mark_delivered(self, wamid: str, at: float) -> None:
        entry = self.entries.get(wamid)
        if entry is not None and entry.delivered_at is None:
            entry.delivered_at = at

    def to_json(self, phone_number_id: str | None = None, wa_id: str | None = None) -> dict[str, Any]:
        rows = [
            e
            for e in self.entries.values()
            if phone_number_id in (None, e.phone_number_id) and wa_id in (None, e.wa_id)
        ]
        totals: dict[str, float] = {}
        by_category: dict[str, int] = {}
        for entry in rows:
            totals[entry.currency] = round(totals.get(entry.currency, 0.0) + entry.charged, 6)
            by_category[entry.category] = by_category.get(entry.category, 0) + 1
        return {
            "entries": [e.to_json() for e in rows],
            "totals": totals,
            "count_by_category": by_category,
        }


@dataclass(frozen=True)
class PriceDecision:
    category: str  # pricing.category
    pricing_type: str  # regular | free_customer_service | free_entry_point
    origin_type: str  # conversation.origin.type (underscore spelling)
    billable: bool
    price: float
    currency: str
    market: str

    def pricing(self) -> dict[str, Any]:
        return {
            "billable": self.billable,
            "pricing_model": "PMP",
            "type": self.pricing_type,
            "category": self.category,
        }


def decide(
    rate_card: RateCard,
    *,
    recipient: str,
    template_category: str | None,
    window_open: bool,
    fep_open: bool,
    sender_calling_code: str = "",
    auth_international_eligible: bool = False,
) -> PriceDecision:
    """Category, free rule and price of one API message (``template_category`` None = service)."""
    market = rate_card.market_for(recipient)
    if fep_open:
        return PriceDecision(
            "referral_conversion",
            "free_entry_point",
            "referral_conversion",
            False,
            0.0,
            market.currency,
            market.name,
        )
    if template_category is None:
        return PriceDecision(
            "service", "free_customer_service", "service", False, 0.0, market.currency, market.name
        )
    category = template_category.lower()
    if (
        category == "authentication"
        and auth_international_eligible
        and "authentication-international" in market.rates
        and rate_card.market_for(sender_calling_code) is not market
    ):
        category = "authentication-international"
    origin_type = category.replace("-", "_")
    if category == "utility" and window_open:
        return PriceDecision(
            "utility", "free_customer_service", origin_type, False, 0.0, market.currency, market.name
        )
    price = market.rates.get(category, rate_card.other.rates.get(category, 0.0))
    return PriceDecision(category, "regular", origin_type, True, price, market.currency, market.name)


def conversation_object(
    decision: PriceDecision, *, api_version: str, sent_at: float, window_until: float, fep_key: str | None
) -> dict[str, Any] | None:
    """``statuses[].conversation``: omitted from v24.0 on unless inside a free entry point window."""
    try:
        major = float(api_version.lstrip("v"))
    except ValueError:
        major = 23.0
    in_fep = decision.pricing_type == "free_entry_point"
    if major >= 24.0 and not in_fep:
        return None
    seed = fep_key if in_fep and fep_key else f"{sent_at}:{decision.category}:{id(decision)}"
    return {
        "id": hashlib.md5(seed.encode(), usedforsecurity=False).hexdigest(),
        "expiration_timestamp": str(int(window_until)),
        "origin": {"type": decision.origin_type},
    }
