"""Listing and replaying receipts: unknown states, bad limits and unknown ids are refused, not ignored."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from wacoex.errors import InvalidInput, NotFound
from wacoex.store.engine import make_engine
from wacoex.store.receipts import append, list_receipts, park_unparseable, replay


def test_an_unknown_state_or_a_limit_below_one_is_refused(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            append(conn, [("meta", b"{}", 1)])
            with pytest.raises(InvalidInput, match="unknown receipt state 'bogus'"):
                list_receipts(conn, state="bogus")
            with pytest.raises(InvalidInput, match="limit must be at least 1, not -5"):
                list_receipts(conn, limit=-5)
            with pytest.raises(InvalidInput, match="unknown receipt state 'Parked'"):
                replay(conn, state="Parked")
            assert [r.state for r in list_receipts(conn, state="pending", limit=1)] == ["pending"]
    finally:
        engine.dispose()


def test_replaying_unknown_ids_names_them_and_replays_nothing(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            [known] = append(conn, [("meta", b"{}", 1)])
            park_unparseable(conn, known, "bad body")
        unknown = f"receipts {known + 1}, {known + 2} do not exist"
        with pytest.raises(NotFound, match=unknown), engine.begin() as conn:
            replay(conn, [known, known + 2, known + 1])
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT state FROM receipts")).scalar() == "parked"
        with engine.begin() as conn:
            assert replay(conn, [known]) == 1
            assert conn.execute(sa.text("SELECT state FROM receipts")).scalar() == "pending"
    finally:
        engine.dispose()
