"""The operator's commands on both engines: what they store, and on PostgreSQL whom they wake."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests import payloads as p
from tests.gateway import BUSINESS
from wacoex.errors import Conflict, NotFound
from wacoex.services.admin import Admin
from wacoex.services.ports import NumberInfo
from wacoex.store.admin import SqlAdmin
from wacoex.store.apikeys import principal_for
from wacoex.store.engine import make_engine
from wacoex.store.notify import RECEIPTS, listener_for
from wacoex.store.receipts import append, park_unparseable
from wacoex.store.token_cipher import TokenCipher

CIPHER = TokenCipher("test-secret-key-for-provider-tokens-0123")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _states(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT id, state FROM receipts ORDER BY id")).all())  # type: ignore[arg-type]


def _held_receipt(engine: Engine) -> int:
    import orjson

    body = orjson.dumps(p.inbound("wamid.A1", "16505550001", 1_760_000_000))
    with engine.begin() as conn:
        [rid] = append(conn, [("meta", body, 1)])
        conn.execute(
            sa.text("UPDATE receipts SET state = 'held', waiting_for = :w WHERE id = :id"),
            {"w": f'["{BUSINESS["phone_number_id"]}"]', "id": rid},
        )
    return rid


def test_a_registered_number_is_listed_and_releases_what_was_held(engine: Engine) -> None:
    rid = _held_receipt(engine)
    admin = Admin(SqlAdmin(engine, CIPHER))
    number, released = admin.add_number(**BUSINESS, provider="meta", coexistence=True, access_token="t")
    assert (number.phone_number_id, released) == (BUSINESS["phone_number_id"], 1)
    assert _states(engine) == {rid: "pending"}
    assert admin.numbers() == [
        NumberInfo(
            phone_number_id=BUSINESS["phone_number_id"],
            display_phone_number=BUSINESS["display_phone_number"],
            waba_id=BUSINESS["waba_id"],
            provider="meta",
            coexistence=True,
            state="connected",
            state_reason=None,
            history_state="none",
        )
    ]
    with pytest.raises(Conflict):
        admin.add_number(**BUSINESS, provider="meta", coexistence=True)


def test_receipts_are_listed_counted_and_replayed(engine: Engine) -> None:
    with engine.begin() as conn:
        ids = append(conn, [("meta", b"{}", 1), ("meta", b"not json", 2)])
        park_unparseable(conn, ids[1], "unparseable: not JSON")
    admin = Admin(SqlAdmin(engine, CIPHER))
    rows, totals = admin.receipts()
    assert [(r.id, r.state, r.size, r.error) for r in rows] == [
        (ids[1], "parked", 8, "unparseable: not JSON"),
        (ids[0], "pending", 2, None),
    ]
    assert totals == {"pending": 1, "parked": 1}
    assert admin.replay() == 1  # every parked receipt
    assert _states(engine) == {ids[0]: "pending", ids[1]: "pending"}
    with pytest.raises(NotFound, match="receipt 99 does not exist"):
        admin.replay([99])


def test_an_api_key_is_shown_once_and_stored_as_a_digest(engine: Engine) -> None:
    info, key = Admin(SqlAdmin(engine, CIPHER)).create_api_key("crm")
    with engine.connect() as conn:
        who = principal_for(conn, key)
        stored = conn.execute(sa.text("SELECT name, key_sha256, prefix FROM api_keys")).one()
    assert who is not None
    assert (who.key_id, who.workspace_id, who.role) == (info.id, 1, "admin")
    assert stored.name == "crm"
    assert key not in stored.key_sha256
    assert (info.prefix, stored.prefix) == (key[:10], key[:10])


@pytest.mark.postgres
def test_a_replay_or_a_release_wakes_workers_in_other_processes(request: pytest.FixtureRequest) -> None:
    from tests.conftest import truncate_all

    url: str = request.getfixturevalue("_postgres_database")
    truncate_all(url)
    woken = threading.Event()
    listener = listener_for(url, RECEIPTS, woken.set)
    assert listener is not None
    engine = make_engine(url)
    listener.start()
    try:
        assert woken.wait(5)  # once on connecting
        woken.clear()
        _held_receipt(engine)
        admin = Admin(SqlAdmin(engine, CIPHER))
        admin.add_number(**BUSINESS, provider="meta", coexistence=True)
        assert woken.wait(5), "releasing held receipts notified nobody"
        woken.clear()
        assert admin.replay(state="pending") == 1
        assert woken.wait(5), "a replay notified nobody"
        woken.clear()
        assert admin.replay(state="parked") == 0
        assert not woken.wait(0.5)  # nothing queued: nobody woken
    finally:
        listener.stop()
        engine.dispose()
