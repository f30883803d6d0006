"""GET /api/v1/numbers/{phone_number_id}/costs over loopback: what the status webhooks' pricing says
the number's API messages cost, by category, free and billable, at the rate card's rates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests import payloads as p
from tests.web.served import AUTH, Served, served_gateway
from wacoex.store.numbers import add_number

T = 1_760_000_000  # 2025-10-09T08:53:20Z
BRAZIL, INDIA, US, UK = "5511987654321", "919876543210", "16505551234", "447700900123"
COSTS = f"/api/v1/numbers/{p.PNID}/costs"


def _pricing(category: str, kind: str) -> dict[str, Any]:
    return {"billable": kind == "regular", "pricing_model": "PMP", "type": kind, "category": category}


def _send(gw: Served, wamid: str, to: str, at: int, category: str, kind: str, *statuses: str) -> None:
    """What the Cloud API reports of a message sent through it: `sent` and the first of delivered or
    read carry its pricing."""
    priced = True
    for offset, status in enumerate(statuses):
        extra = {"pricing": _pricing(category, kind)} if status == "sent" or priced else {}
        if status in ("delivered", "read"):
            priced = False
        gw.webhook(p.status(wamid, status, at + offset, recipient=to, **extra))


def _seed(gw: Served) -> None:
    with gw.container.engine.begin() as conn:
        add_number(
            conn,
            phone_number_id=p.PNID,
            display_phone_number=p.BIZ,
            waba_id=p.WABA,
            provider="meta",
            coexistence=True,
        )
    _send(gw, "wamid.mkt-br", BRAZIL, T, "marketing", "regular", "sent", "delivered", "read")
    _send(gw, "wamid.mkt-in", INDIA, T + 10, "marketing", "regular", "sent")  # not delivered yet
    _send(gw, "wamid.utl-us", US, T + 20, "utility", "free_customer_service", "sent", "delivered")
    _send(gw, "wamid.utl-uk", UK, T + 30, "utility", "regular", "sent", "read")  # read without delivered
    _send(gw, "wamid.svc-br", BRAZIL, T + 40, "service", "free_customer_service", "sent", "delivered")
    _send(gw, "wamid.auth-in", INDIA, T + 50, "authentication-international", "regular", "sent", "delivered")
    _send(gw, "wamid.fep-br", BRAZIL, T + 60, "referral_conversion", "free_entry_point", "sent", "delivered")
    gw.webhook(p.status("wamid.failed", "failed", T + 70, recipient=US))  # never priced
    gw.webhook(p.echo("wamid.echo", US, T + 80))  # the owner on the phone: free
    gw.webhook(p.inbound("wamid.in", US, T + 90))  # the customer: not ours to pay
    _send(gw, "wamid.next-day", BRAZIL, T + 86_400, "marketing", "regular", "sent", "delivered")
    gw.container.processor.drain()


def _get(gw: Served, **params: str) -> dict[str, Any]:
    r = gw.http.get(COSTS, params=params, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_costs_sum_by_category_free_and_billable(db_url: str, tmp_path: Path) -> None:
    with served_gateway(db_url, tmp_path) as gw:
        _seed(gw)
        day = _get(gw, **{"from": "2025-10-09T00:00:00Z", "to": "2025-10-10T00:00:00Z"})
        assert day["phone_number_id"] == p.PNID
        assert day["from"] == "2025-10-09T00:00:00Z"
        assert day["currency"] == "USD"
        by = {c["category"]: c for c in day["categories"]}
        assert list(by) == [
            "marketing",
            "utility",
            "authentication_international",
            "service",
            "referral_conversion",
        ]
        assert by["marketing"] == {
            "category": "marketing",
            "messages": 2,
            "free": 0,
            "billable": 2,
            "charged": 1,  # India's is not delivered yet
            "unpriced": 0,
            "amount": "0.0625",  # Brazil's marketing rate
        }
        assert (by["utility"]["free"], by["utility"]["billable"], by["utility"]["amount"]) == (1, 1, "0.0220")
        assert by["authentication_international"]["amount"] == "0.0280"
        assert (by["service"]["free"], by["service"]["amount"]) == (1, "0")
        assert (by["referral_conversion"]["free"], by["referral_conversion"]["amount"]) == (1, "0")
        assert day["total"] == {
            "messages": 7,
            "free": 3,
            "billable": 4,
            "charged": 3,
            "unpriced": 0,
            "amount": "0.1125",
        }
        assert day["app_messages"] == 1
        assert day["awaiting_pricing"] == 0

        everything = _get(gw)
        assert everything["total"]["messages"] == 8
        assert everything["total"]["amount"] == "0.1750"
        assert (everything["from"], everything["to"]) == (None, None)
        # [from, to): the message sent at `to` belongs to the next period.
        next_day = _get(gw, **{"from": "2025-10-10T08:53:20"})  # no zone: UTC
        assert next_day["total"]["messages"] == 1
        before = _get(gw, to="2025-10-10T08:53:20Z")
        assert before["total"]["messages"] == 7


def test_a_replacement_rate_card_prices_the_same_ledger(db_url: str, tmp_path: Path) -> None:
    card = tmp_path / "card.csv"
    card.write_text(
        "market,regions,currency,marketing,utility,authentication\n"
        "Brazil,BR,BRL,0.35,0.05,0.17\n"
        "Everywhere else,*,BRL,1.00,0.10,0.10\n"
    )
    with served_gateway(db_url, tmp_path, rate_card_path=card) as gw:
        _seed(gw)
        costs = _get(gw, to="2025-10-10T00:00:00Z")
        assert costs["currency"] == "BRL"
        by = {c["category"]: c for c in costs["categories"]}
        assert by["marketing"]["amount"] == "0.35"
        assert by["utility"]["amount"] == "0.10"  # the UK is "everywhere else"
        # This card has no authentication_international rate: charged, counted, not guessed.
        assert (
            by["authentication_international"]["charged"],
            by["authentication_international"]["unpriced"],
        ) == (
            1,
            1,
        )
        assert costs["total"]["amount"] == "0.45"


def test_unknown_numbers_garbled_times_and_missing_keys_are_refused(db_url: str, tmp_path: Path) -> None:
    with served_gateway(db_url, tmp_path) as gw:
        _seed(gw)
        backwards = _get(gw, **{"from": "2025-10-10T00:00:00Z", "to": "2025-10-09T00:00:00Z"})
        assert backwards["total"]["messages"] == 0  # a period that ends before it starts is empty
        widest = _get(gw, **{"from": "0001-01-01T00:00:00+14:00", "to": "9999-12-31T23:59:59-14:00"})
        assert widest["total"]["messages"] == 8  # times beyond years 1 to 9999 in UTC still compare
        garbled = gw.http.get(COSTS, params={"from": "yesterday"}, headers=AUTH)
        assert garbled.status_code == 422
        assert garbled.json()["error"]["message"].startswith("from: Value error, not an ISO 8601 date")
        missing = gw.http.get("/api/v1/numbers/999/costs", headers=AUTH)
        assert missing.status_code == 404
        assert missing.json()["error"]["message"] == "number 999 is not registered"
        assert gw.http.get(COSTS).status_code == 401
