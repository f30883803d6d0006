"""The receipt queue claims in id order, bounded by count and by body bytes."""

from __future__ import annotations

from wacoex.store.engine import make_engine
from wacoex.store.receipts import SqlReceiptQueue, append


def test_claims_are_bounded_by_bytes_but_never_empty(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            ids = append(conn, [("meta", b"x" * 4000, 1), ("meta", b"y" * 4000, 2), ("meta", b"z" * 10, 3)])
        with engine.begin() as conn:
            queue = SqlReceiptQueue(conn)
            assert [r.id for r in queue.claim(10, now=10, max_bytes=5000)] == ids[:1]
            assert [r.id for r in queue.claim(10, now=10, max_bytes=100)] == ids[:1]  # one even if larger
            assert [r.id for r in queue.claim(2, now=10, max_bytes=10**6)] == ids[:2]
            claimed = queue.claim(10, now=10)
            assert [r.body[:1] for r in claimed] == [b"x", b"y", b"z"]
    finally:
        engine.dispose()


def test_a_worker_locks_only_the_receipts_it_will_apply(db_url: str) -> None:
    """On PostgreSQL a claim locks what it returns, never rows beyond its byte budget."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            ids = append(conn, [("meta", b"h" * 3000, 1) for _ in range(5)])
        with engine.begin() as a:
            first = [r.id for r in SqlReceiptQueue(a).claim(50, now=10, max_bytes=6000)]
            assert first == ids[:2]
            if db_url.startswith("postgresql"):  # SQLite has one writer at a time: nothing to share
                with engine.begin() as b:  # a second worker while the first still holds its claim
                    second = [r.id for r in SqlReceiptQueue(b).claim(50, now=10, max_bytes=6000)]
                    assert second == [ids[2]]  # the next unlocked one, not nothing
                    third = [r.id for r in SqlReceiptQueue(b).claim(50, now=10, max_bytes=6000)]
                    assert third == [ids[2]]  # its own lock is not skipped
    finally:
        engine.dispose()
