"""The one place concrete adapters are chosen and wired together."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from wacoex.config import Settings
from wacoex.services.ingest import Ingest
from wacoex.services.jobs import Loop, Workers
from wacoex.services.media import MediaFetcher
from wacoex.services.notify import Wakeup
from wacoex.services.receipts import ReceiptProcessor, RetryPolicy
from wacoex.services.workers import ApplyReceipts, FetchMedia
from wacoex.store.engine import make_engine, now_ms, upgrade
from wacoex.store.ingress_priority import IngressPriority
from wacoex.store.media import SqlMediaStore
from wacoex.store.notify import RECEIPTS, listener_for
from wacoex.store.receipt_writer import ReceiptWriter
from wacoex.store.receipts import sql_receipt_peek
from wacoex.store.uow import sql_unit_of_work
from wacoex.whatsapp.bodies import parse_bytes
from wacoex.whatsapp.media_client import ProviderMediaSource

MEDIA_POLL_SECONDS = 1.0  # media waits for retries that come due; applied receipts wake it sooner


@dataclass
class Container:
    """The gateway's services and the loops that run its jobs; nothing here runs until started.

    Entrypoints start what they need: `writer` (web), `workers` (`wacoex worker`, or a test's app
    with `run_worker`); `dispose()` stops both and closes the engines.
    """

    settings: Settings
    engine: Engine
    read_engine: Engine
    writer: ReceiptWriter
    processor: ReceiptProcessor
    media_store: SqlMediaStore
    media: MediaFetcher | None
    workers: Workers
    media_source: ProviderMediaSource | None = None
    # The receipts loop's wake-up: a receipt stored or replayed in this process notifies it.
    wake: Wakeup = field(default_factory=Wakeup)

    def dispose(self) -> None:
        self.workers.stop()
        self.writer.stop()
        if self.media_source is not None:
            self.media_source.close()
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def build(settings: Settings, *, migrate: bool = True) -> Container:
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    # On PostgreSQL one pool serves both; on SQLite API reads must not take the write lock.
    read_engine = make_engine(settings.database_url, read_only=True) if settings.is_sqlite else engine
    parse = functools.partial(parse_bytes, max_unknown=settings.max_unknown_per_receipt)
    ingest = Ingest(parse, fetch_media=settings.fetch_media, clock=now_ms)
    policy = RetryPolicy(max_attempts=settings.max_attempts, base_seconds=settings.retry_base_seconds)
    priority = IngressPriority.for_url(settings.database_url)
    processor = ReceiptProcessor(
        sql_unit_of_work(engine, priority),
        ingest,
        policy,
        now_ms,
        peek=sql_receipt_peek(read_engine),
        lock_budget=settings.apply_lock_budget_ms / 1000,
        yield_to=priority.waiting if priority is not None else None,
    )
    wake = Wakeup()
    writer = ReceiptWriter(engine, on_commit=wake.notify, priority=priority)
    media_store = SqlMediaStore(engine, settings.media_dir, read_engine=read_engine)
    media = source = None
    media_wake = Wakeup()
    loops = []
    if settings.fetch_media:
        source = ProviderMediaSource(settings.graph_base_url, settings.dialog360_base_url)
        media = MediaFetcher(media_store, source, now_ms)
        loops.append(Loop(FetchMedia(media), idle_seconds=MEDIA_POLL_SECONDS, wakeup=media_wake))
    apply = ApplyReceipts(processor, settings.worker_batch, applied=media_wake if media else None)
    poll = max(settings.worker_poll_seconds, 0.01)
    loops.insert(0, Loop(apply, idle_seconds=poll, wakeup=wake))
    # On PostgreSQL a receipt stored by any process wakes the receipts loop (LISTEN/NOTIFY).
    listener = listener_for(settings.database_url, RECEIPTS, wake.notify)
    workers = Workers(loops, sources=[listener] if listener is not None else [])
    return Container(
        settings=settings,
        engine=engine,
        read_engine=read_engine,
        writer=writer,
        processor=processor,
        media_store=media_store,
        media=media,
        media_source=source,
        wake=wake,
        workers=workers,
    )
