"""REST API v1: what a number's messages cost in a period, by category, free and billable."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, BeforeValidator, Field

from wacoex.domain.costs import CategoryCost
from wacoex.services.pricing import Pricing
from wacoex.web.api.models import ErrorBody
from wacoex.domain.access import Principal
from wacoex.web.deps import Caller, require_api_key

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or invalid API key"},
    404: {"model": ErrorBody, "description": "no such number"},
    422: {"model": ErrorBody, "description": "`from` or `to` is not an ISO 8601 time"},
}
router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(require_api_key)], tags=["costs"], responses=_ERRORS
)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_only(value: Any) -> Any:
    # pydantic also reads a bare number as Unix seconds; the document promises ISO 8601 only.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("not an ISO 8601 date and time, such as 2026-12-01T00:00:00Z")
    return value


IsoTime = Annotated[datetime, BeforeValidator(_iso_only)]


class Cost(BaseModel):
    messages: int = Field(description="API messages with a `pricing` from their status webhooks")
    free: int = Field(description="free: service messages, utility in the window, free entry point")
    billable: int = Field(description="`pricing.type` regular: charged once delivered")
    charged: int = Field(description="billable and delivered (or read): counted in `amount`")
    unpriced: int = Field(
        description="charged, but the rate card has no rate for the market: not in `amount`"
    )
    amount: str = Field(description="the rate card's price of the charged messages (a decimal string)")


class CategoryCostModel(Cost):
    category: str = Field(description="`pricing.category` (authentication-international with an underscore)")


class Costs(BaseModel):
    phone_number_id: str
    from_: datetime | None = Field(alias="from")
    to: datetime | None
    currency: str = Field(description="the rate card's currency")
    categories: list[CategoryCostModel]
    total: Cost
    app_messages: int = Field(description="sent from the WhatsApp Business app: free, never billed")
    awaiting_pricing: int = Field(description="sent through the API, no status with `pricing` yet")


def pricing(request: Request) -> Pricing:
    return request.app.state.container.pricing


def _ms(at: datetime | None) -> int | None:
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # a time without a zone is UTC
    # By difference, not at.timestamp(): 0001-01-01T00:00+01:00 is before year 1 in UTC.
    return (at - _EPOCH) // timedelta(milliseconds=1)


def _counts(c: CategoryCost) -> dict[str, Any]:
    return {
        "messages": c.messages,
        "free": c.free,
        "billable": c.billable,
        "charged": c.charged,
        "unpriced": c.unpriced,
        "amount": str(c.amount),
    }


@router.get("/numbers/{phone_number_id}/costs", response_model=Costs, response_model_by_alias=True)
def get_costs(
    phone_number_id: str = Path(max_length=64, pattern="^[^\\x00]+$", examples=["106540352242922"]),
    from_: IsoTime | None = Query(None, alias="from", description="sent at or after (ISO 8601; UTC if bare)"),
    to: IsoTime | None = Query(None, description="sent before (ISO 8601; UTC if bare)"),
    who: Principal = Caller,
    prices: Pricing = Depends(pricing),
) -> Costs:
    """The number's API messages sent in [from, to), by pricing category: free, billable, charged and
    what the charged ones cost at the rate card's rates; messages from the Business app are free."""
    # Another workspace's number is not found, like one that does not exist.
    summary = prices.costs(phone_number_id, since=_ms(from_), until=_ms(to), workspace_id=who.workspace_id)
    return Costs.model_validate(
        {
            "phone_number_id": phone_number_id,
            "from": from_,
            "to": to,
            "currency": summary.currency,
            "categories": [
                {"category": str(c.category), **_counts(c)} for c in summary.categories if c.category
            ],
            "total": _counts(summary.total),
            "app_messages": summary.app_messages,
            "awaiting_pricing": summary.awaiting_pricing,
        }
    )
