"""The store's conditional status write moves a status exactly when the domain's rule says it advances."""

from __future__ import annotations

from wacoex.domain.conversation import advance_bound, status_advances
from wacoex.domain.enums import MessageStatus
from wacoex.store.engine import make_engine
from wacoex.store.ingest_repo import SqlIngestRepository
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
            repo = SqlIngestRepository(conn)
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
                    moved = repo.advance_status(message_id, new.value, 5, advance_bound(new))
                    expected = status_advances(stored, new)
                    assert moved is expected, (stored, new)
                    status = repo.existing_messages(number.id, [wamid])[wamid].status
                    assert status == (new.value if expected else stored)
    finally:
        engine.dispose()
