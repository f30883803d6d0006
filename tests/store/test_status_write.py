"""A status moves exactly when the domain's rule says it advances: in the batch, and in the guarded write."""

from __future__ import annotations

import sqlalchemy as sa

from wacoex.domain.conversation import advance_bound, status_advances
from wacoex.domain.enums import MessageStatus
from wacoex.store import batch_sql
from wacoex.store.apply_batch import BatchRepository
from wacoex.store.engine import make_engine
from wacoex.store.numbers import add_number

STORED: list[str | None] = [None, *(s.value for s in MessageStatus), "elsewhere"]  # a value of no rank


def test_the_conditional_write_agrees_with_status_advances_for_every_pair(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            number, _ = add_number(
                conn,
                phone_number_id="1",
                display_phone_number="15550000001",
                waba_id="2",
                provider="meta",
                coexistence=True,
            )
            repo = BatchRepository(conn)
            expected_status: dict[int, str | None] = {}
            for i, stored in enumerate(STORED):
                for new in MessageStatus:
                    wamid = f"wamid.{i}.{new.value}"
                    row = dict(
                        number_id=number.id,
                        wamid=wamid,
                        direction="outbound",
                        origin="api",
                        type="text",
                        received_at=0,
                        status=stored,
                    )
                    message_id = repo.insert_placeholder(row)
                    assert message_id is not None
                    assert repo.insert_placeholder(row) is None  # the wamid exists: nothing inserted
                    repo.flush()
                    # The batch's decision, on a message it read back from the database.
                    repo.reset()
                    [found] = repo.existing_messages(number.id, [wamid]).values()
                    moved = repo.advance_status(found.id, new.value, 5, advance_bound(new))
                    expected = status_advances(stored, new)
                    assert moved is expected, (stored, new)
                    repo.flush()
                    expected_status[message_id] = new.value if expected else stored
                    # The guarded write alone (what protects a row the batch did not lock) agrees too.
                    conn.execute(
                        sa.text("UPDATE messages SET status = :s WHERE id = :i"),
                        {"s": stored, "i": message_id},
                    )
                    batch_sql.advance_statuses(
                        conn, {message_id: {"status": new.value, "status_at": 5, "below": advance_bound(new)}}
                    )
            stored_now = dict(conn.execute(sa.text("SELECT id, status FROM messages")).all())
            assert stored_now == expected_status
    finally:
        engine.dispose()
