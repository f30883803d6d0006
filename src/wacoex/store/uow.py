"""The unit of work: one database transaction exposing the queue and the ingest repository."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from wacoex.store.apply_batch import BatchRepository
from wacoex.store.ingress_priority import IngressPriority
from wacoex.store.receipts import SqlReceiptQueue


class SqlApplyTx:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.queue = SqlReceiptQueue(conn)
        self.repo = BatchRepository(conn)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        with self.conn.begin_nested():
            yield

    def forget_unknowns(self, receipt_id: int) -> None:
        self.queue.forget_unknowns(receipt_id)

    @staticmethod
    def transient(exc: BaseException) -> bool:
        """Lock contention, a deadlock, a serialisation failure, a lost connection: a later try may pass.

        Anything else (a value a column refuses, a bug meeting an odd item) fails again on retry.
        """
        if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
            return True
        return isinstance(exc, sa.exc.OperationalError)


def sql_unit_of_work(engine: Engine, priority: IngressPriority | None = None):  # type: ignore[no-untyped-def]
    """A UnitOfWork factory over `engine`: commit on success, roll back on any exception.

    With `priority` (SQLite), a transaction begins only once no webhook is waiting to be stored.
    """

    @contextmanager
    def uow() -> Iterator[SqlApplyTx]:
        if priority is not None:
            priority.let_writers_first()
        with engine.begin() as conn:
            yield SqlApplyTx(conn)

    return uow
