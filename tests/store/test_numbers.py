"""Registering numbers: one number per phone_number_id and per display number, in the store and the schema."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from wacoex.errors import Conflict
from wacoex.store.engine import make_engine
from wacoex.store.numbers import add_number, list_numbers


def _add(conn: sa.Connection, pnid: str, display: str) -> None:
    add_number(
        conn,
        phone_number_id=pnid,
        display_phone_number=display,
        waba_id="w1",
        provider="meta",
        coexistence=True,
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("15550783881", "+1 (555) 078-3881"),
        ("5511987654321", "551187654321"),  # Brazil: the same mobile with and without the ninth digit
    ],
)
def test_a_display_number_already_registered_is_refused(db_url: str, first: str, second: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            _add(conn, "1", first)
        refused = r"display number \+\d+ is already registered for number 1"
        with pytest.raises(Conflict, match=refused), engine.begin() as conn:
            _add(conn, "2", second)
        with engine.begin() as conn:
            _add(conn, "3", "15550000000")  # another display number is fine
            assert [r.phone_number_id for r in list_numbers(conn)] == ["1", "3"]
    finally:
        engine.dispose()


def test_registering_a_phone_number_id_again_is_refused_and_changes_nothing(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            _add(conn, "1", "15550783881")
        with pytest.raises(Conflict, match="number 1 is already registered"), engine.begin() as conn:
            _add(conn, "1", "15559999999")
        with engine.connect() as conn:
            assert [r.display_phone_number for r in list_numbers(conn)] == ["15550783881"]
    finally:
        engine.dispose()


def test_the_database_refuses_a_shared_display_number_too(db_url: str) -> None:
    engine = make_engine(db_url)
    row = {
        "display_phone_number": "15550783881",
        "waba_id": "w1",
        "provider": "meta",
        "coexistence": True,
        "state": "connected",
        "history_state": "none",
        "created_at": 0,
        "updated_at": 0,
    }
    insert = sa.text(
        "INSERT INTO numbers (phone_number_id, display_phone_number, waba_id, provider, coexistence, state,"
        " history_state, created_at, updated_at) VALUES (:pnid, :display_phone_number, :waba_id, :provider,"
        " :coexistence, :state, :history_state, :created_at, :updated_at)"
    )
    try:
        with engine.begin() as conn:
            conn.execute(insert, {**row, "pnid": "1"})
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(insert, {**row, "pnid": "2"})
    finally:
        engine.dispose()


def test_a_numbers_own_send_rate_reaches_its_reference(db_url: str) -> None:
    """What pacing reads (services/throttle.send_rate): the column, or None when unset."""
    from wacoex.store.batch_reads import numbers_by_pnid
    from wacoex.store.number_records import SqlNumberRecords

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            _add(conn, "1", "15550783881")
            _add(conn, "2", "15550000000")
            conn.execute(sa.text("UPDATE numbers SET send_rate = 5 WHERE phone_number_id = '1'"))
            rates = {n.phone_number_id: n.send_rate for n in SqlNumberRecords(conn).numbers_by_waba("w1")}
            assert rates == {"1": 5.0, "2": None}
            assert numbers_by_pnid(conn, ["1"])["1"].send_rate == 5.0
    finally:
        engine.dispose()
