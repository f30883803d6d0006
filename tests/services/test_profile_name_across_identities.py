"""The newest profile name wins, whether contacts[] reported the customer with their BSUID or without."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests import payloads as p
from tests.gateway import running_gateway

CUSTOMER, BSUID = "16505550002", "US.13491208655302741"
TS = 1_760_000_000


def _change(wamid: str, name: str, ts: int, *, bsuid: bool) -> dict[str, Any]:
    body = p.inbound(wamid, CUSTOMER, ts, f"signed {name}", name=name)
    if bsuid:
        body["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"] = BSUID
    return body["entry"][0]["changes"][0]  # type: ignore[no-any-return]


def test_a_customer_renamed_back_through_their_bsuid_shows_the_newest_name(
    db_url: str, tmp_path: Path
) -> None:
    with running_gateway(db_url, tmp_path) as gw:
        gw.register()
        body = p.envelope("messages", {})
        body["entry"][0]["changes"] = [
            _change("wamid.N1", "Ana", TS, bsuid=True),
            _change("wamid.N2", "Bea", TS + 60, bsuid=False),
            _change("wamid.N3", "Ana", TS + 120, bsuid=True),  # the newest
        ]
        gw.deliver(body)
        [conv] = gw.conversations()
        assert conv["counts"]["messages"] == 3
        assert conv["contact"]["names"]["profile"] == "Ana"
