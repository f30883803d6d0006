"""The one place concrete adapters are chosen and wired together."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from wacoex.config import Settings
from wacoex.errors import ConfigError, WacoexError
from wacoex.services.admin import Admin
from wacoex.services.delivery import DeliverSends
from wacoex.services.health import NumberHealth
from wacoex.services.ingest import Ingest
from wacoex.services.jobs import Loop, Workers
from wacoex.services.media import MediaFetcher
from wacoex.services.notify import Wakeup
from wacoex.services.onboarding import Onboarding
from wacoex.services.ports import Schema
from wacoex.services.pricing import Pricing
from wacoex.services.provider_port import Provider
from wacoex.services.reading import Reading
from wacoex.services.receipts import ReceiptProcessor, RetryPolicy
from wacoex.services.send import Estimator, Sender, SendPolicy
from wacoex.services.send_port import SendingNumber, SentMark
from wacoex.services.syncs import Syncs
from wacoex.services.takeover import TakeoverEvents, Takeovers
from wacoex.services.templates import Templates
from wacoex.services.throttle import Throttle, send_rate
from wacoex.services.watch import NumberWatch
from wacoex.services.workers import ApplyReceipts, FetchMedia
from wacoex.store import failures
from wacoex.store.admin import SqlAdmin, SqlSchema
from wacoex.store.alert_writer import SqlNumberAlerts
from wacoex.store.costs import SqlCosts
from wacoex.store.engine import make_engine, now_ms, upgrade
from wacoex.store.engine import safe_url as safe_url  # the URL as banners show it, password masked
from wacoex.store.health import SqlHealth
from wacoex.store.ingress_priority import IngressPriority
from wacoex.store.media import SqlMediaStore
from wacoex.store.notify import RECEIPTS, listener_for
from wacoex.store.onboarding import SqlOnboardingStore
from wacoex.store.rate_card import load_rate_card
from wacoex.store.reading import SqlReading
from wacoex.store.receipt_writer import ReceiptWriter
from wacoex.store.receipts import sql_receipt_peek
from wacoex.store.sends import SqlSendStore, mark_sent
from wacoex.store.takeover import SqlTakeoverStore
from wacoex.store.templates import SqlTemplateStore
from wacoex.store.token_cipher import TokenCipher
from wacoex.store.uow import sql_unit_of_work
from wacoex.store.watch import SqlWatchStore
from wacoex.whatsapp.account_api import GraphAccountApi
from wacoex.whatsapp.bodies import parse_bytes
from wacoex.whatsapp.graph import GraphClient, GraphProvider

SEND_POLL_SECONDS = 0.5  # queued sends due later (retries, takeovers); new ones wake the loop at once
TAKEOVER_POLL_SECONDS = 2.0  # how soon an echo's takeover (or its end) is recorded as an event
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
    admin: Admin
    reading: Reading
    provider: Provider  # Meta, 360dialog or the emulator, by each number's provider and the base URLs
    throttle: Throttle  # every send of this process waits its turn here (docs/api.md, "Pacing")
    sender: Sender
    templates: Templates
    takeovers: Takeovers
    # The sending process's jobs (queued sends, takeover events): started by the web app, which owns
    # the pacer that synchronous sends use too.
    senders: Workers
    pricing: Pricing  # the rate card's estimates and the cost ledger (docs/api.md, "Costs")
    health: NumberHealth  # a number's state, heartbeat and alerts (docs/api.md, "Number health")
    onboarding: Onboarding  # Embedded Signup and 360dialog to a registered number (docs/onboarding.md)
    syncs: Syncs  # the one-shot contacts and history syncs of each onboarding
    watch: NumberWatch  # the phone's heartbeat and Meta's view of the number
    # The receipts loop's wake-up: a receipt stored or replayed in this process notifies it.
    wake: Wakeup = field(default_factory=Wakeup)

    def dispose(self) -> None:
        self.senders.stop()
        self.workers.stop()
        self.writer.stop()
        self.provider.close()
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def build_provider(settings: Settings, transport: httpx.BaseTransport | None = None) -> Provider:
    """The provider over one Graph client; `transport` replaces the network (tests, in-process emulator)."""
    return GraphProvider(GraphClient.from_settings(settings, transport))


def build(
    settings: Settings,
    *,
    migrate: bool = True,
    provider_transport: httpx.BaseTransport | None = None,
    clock: Callable[[], int] | None = None,
) -> Container:
    """The gateway's services. `clock` is the time the record, the rules and the read API read (when
    a webhook was received, a conversation began, the window, takeover, the onboarding's syncs, the
    heartbeat): a test against the emulator passes the emulator's virtual clock, so a day can pass in
    a moment. Retries and polling keep real time. Without it, the wall clock."""
    clock = clock or now_ms
    rate_card = load_rate_card(settings.rate_card_path)  # a bad card stops start-up, before migrating
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    # On PostgreSQL one pool serves both; on SQLite API reads must not take the write lock.
    read_engine = make_engine(settings.database_url, read_only=True) if settings.is_sqlite else engine
    parse = functools.partial(parse_bytes, max_unknown=settings.max_unknown_per_receipt)
    ingest = Ingest(parse, fetch_media=settings.fetch_media, clock=clock)
    policy = RetryPolicy(max_attempts=settings.max_attempts, base_seconds=settings.retry_base_seconds)
    priority = IngressPriority.for_url(settings.database_url)
    processor = ReceiptProcessor(
        sql_unit_of_work(engine, priority),
        ingest,
        policy,
        now_ms,
        peek=sql_receipt_peek(read_engine),
        # On PostgreSQL too: it is also how soon a worker asked to stop stops (without it two workers
        # were no faster, docs/benchmarks.md).
        lock_budget=settings.apply_lock_budget_ms / 1000,
        yield_to=priority.waiting if priority is not None else None,
    )
    wake = Wakeup()
    writer = ReceiptWriter(engine, on_commit=wake.notify, priority=priority)
    cipher = token_cipher(settings)
    media_store = SqlMediaStore(engine, settings.media_dir, read_engine=read_engine, cipher=cipher)
    client = GraphClient.from_settings(settings, provider_transport)  # one client: the provider closes it
    provider = GraphProvider(client)
    media = None
    media_wake = Wakeup()
    loops = []
    if settings.fetch_media:
        media = MediaFetcher(media_store, provider, now_ms)
        loops.append(Loop(FetchMedia(media), idle_seconds=MEDIA_POLL_SECONDS, wakeup=media_wake))
    batch = settings.worker_batch
    apply = ApplyReceipts(processor, batch, applied=media_wake if media else None)
    poll = max(settings.worker_poll_seconds, 0.01)
    loops.insert(0, Loop(apply, idle_seconds=poll, wakeup=wake))
    # On PostgreSQL a receipt stored by any process wakes the receipts loop (LISTEN/NOTIFY).
    listener = listener_for(settings.database_url, RECEIPTS, wake.notify)
    workers = Workers(loops, sources=[listener] if listener is not None else [])
    throttle = Throttle.from_settings(settings)
    pricing = Pricing(rate_card, SqlCosts(read_engine))
    sending = _sending(
        settings, engine, read_engine, provider, throttle, ingest, priority, clock, cipher, pricing
    )
    life = _lifecycle(settings, engine, read_engine, client, clock, cipher)
    sending.workers.loops.extend(life.loops)
    return Container(
        settings=settings,
        engine=engine,
        read_engine=read_engine,
        writer=writer,
        processor=processor,
        media_store=media_store,
        media=media,
        provider=provider,
        throttle=throttle,
        sender=sending.sender,
        templates=sending.templates,
        takeovers=sending.takeovers,
        senders=sending.workers,
        wake=wake,
        workers=workers,
        admin=Admin(
            SqlAdmin(engine, cipher),
            wake=wake,
            apply=functools.partial(processor.drain, settings.worker_batch),
        ),
        reading=Reading(SqlReading(engine, read_engine, cipher), clock, wake=wake.notify),
        pricing=pricing,
        health=NumberHealth(
            SqlHealth(read_engine),
            clock,
            inactivity_days=settings.inactivity_days,
            warning_days=settings.inactivity_warning_days,
            onboarding=life.onboardings.current,
        ),
        onboarding=life.onboarding,
        syncs=life.syncs,
        watch=life.watch,
    )


def token_cipher(settings: Settings) -> TokenCipher:
    """Provider tokens at rest: encrypted with WACOEX_SECRET_KEY, decrypted with it or a previous key."""
    return TokenCipher(settings.secret_key, settings.previous_secret_keys)


@dataclass(frozen=True, slots=True)
class _Sending:
    sender: Sender
    templates: Templates
    takeovers: Takeovers
    workers: Workers


def _sending(
    settings: Settings,
    engine: Engine,
    read_engine: Engine,
    provider: Provider,
    throttle: Throttle,
    ingest: Ingest,
    priority: IngressPriority | None,
    clock: Callable[[], int],
    cipher: TokenCipher,
    pricing: Pricing,
) -> _Sending:
    store = SqlSendStore(engine, read_engine, cipher)
    templates = Templates(SqlTemplateStore(engine), provider, clock)
    uow = sql_unit_of_work(engine, priority)

    def record(facts: list[Any], at: int, mark: SentMark) -> None:
        # One transaction (one commit) for the message, its conversation and the send's own row.
        with uow() as tx:
            ingest.record(tx.repo, facts, at)
            mark_sent(tx.conn, mark)

    wake = Wakeup()
    policy = SendPolicy(
        takeover_ms=int(settings.takeover_minutes * 60_000),
        resume_on_customer=settings.takeover_resume_on_customer,
        max_wait_seconds=settings.send_max_wait_seconds,
        max_attempts=settings.send_max_attempts,
        rate_of=lambda number: send_rate(settings, number.ref),
    )
    sender = Sender(
        store=store,
        templates=templates,
        provider=provider,
        pacer=throttle,
        record=record,
        policy=policy,
        clock=clock,
        estimate=_estimator(pricing),
        wake_delivery=wake.notify,
    )
    takeovers = Takeovers(
        SqlTakeoverStore(engine),
        clock,
        ttl_ms=policy.takeover_ms,
        resume_on_customer=settings.takeover_resume_on_customer,
    )
    in_flight = settings.provider_connect_timeout_seconds + settings.provider_timeout_seconds
    deliver = DeliverSends(
        sender, store, clock, in_flight_ms=int((in_flight + settings.send_max_wait_seconds + 60) * 1000)
    )
    loops = [
        Loop(deliver, idle_seconds=SEND_POLL_SECONDS, wakeup=wake),
        Loop(TakeoverEvents(takeovers), idle_seconds=TAKEOVER_POLL_SECONDS),
    ]
    return _Sending(sender, templates, takeovers, Workers(loops))


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Onboarding, the one-shot syncs and the number's watch, with the loops `wacoex serve` runs."""

    onboarding: Onboarding
    onboardings: SqlOnboardingStore
    syncs: Syncs
    watch: NumberWatch
    loops: list[Loop]


def _lifecycle(
    settings: Settings,
    engine: Engine,
    read_engine: Engine,
    client: GraphClient,
    clock: Callable[[], int],
    cipher: TokenCipher,
) -> Lifecycle:
    """Onboarding, the one-shot syncs and the number's watch."""
    api = GraphAccountApi(
        client,
        app_id=settings.meta_app_id,
        app_secret=settings.code_exchange_secret,
        d360_hub_url=settings.d360_hub_url,
        d360_partner_id=settings.d360_partner_id,
        d360_partner_api_key=settings.d360_partner_api_key,
    )
    store = SqlOnboardingStore(engine, read_engine, cipher)
    alerts = SqlNumberAlerts(engine)
    in_flight = settings.provider_connect_timeout_seconds + settings.provider_timeout_seconds
    syncs = Syncs(
        store,
        alerts,
        api,
        clock,
        in_flight_ms=int((in_flight + 60) * 1000),
        warn_before_ms=int(settings.sync_deadline_warning_hours * 3_600_000),
    )
    watch = NumberWatch(
        SqlWatchStore(engine, read_engine, cipher),
        alerts,
        api,
        clock,
        cut_days=settings.inactivity_days,
        warning_days=settings.inactivity_warning_days,
        check_every_ms=int(settings.biz_app_check_hours * 3_600_000),
    )
    d360_webhook = None
    if settings.public_url:
        secret = settings.dialog360_header_secrets[:1]
        headers = {settings.dialog360_header_name: secret[0]} if secret else {}
        d360_webhook = (settings.public_url.rstrip("/") + "/webhooks/360dialog", headers)
    onboarding = Onboarding(
        store, api, syncs, clock, unsupported_regions=settings.unsupported_regions, d360_webhook=d360_webhook
    )
    every = settings.lifecycle_check_seconds
    loops = [Loop(syncs, idle_seconds=every), Loop(watch, idle_seconds=every)]
    return Lifecycle(onboarding, store, syncs, watch, loops)


def _estimator(pricing: Pricing) -> Estimator:
    """The rate card's price of a send before it leaves: (category, amount, currency)."""

    def estimate(
        number: SendingNumber, to: str, category: str | None, fep_open: bool, window_open: bool
    ) -> tuple[str | None, float | None, str | None] | None:
        try:
            e = pricing.estimate(number.ref, to, category, fep_open=fep_open, window_open=window_open)
        except (ValueError, WacoexError):  # a category the card does not price: no estimate
            return None
        amount = float(e.amount) if e.amount is not None else None
        return str(e.category), amount, e.currency

    return estimate


@contextmanager
def lifecycle(settings: Settings) -> Iterator[Lifecycle]:
    """Onboarding and the syncs for one command (`wacoex numbers onboard`, `sync`, `opened`), on an
    engine and a provider client of their own, closed afterwards."""
    schema(settings).upgrade()
    engine = make_engine(settings.database_url)
    client = GraphClient.from_settings(settings)
    try:
        yield _lifecycle(settings, engine, engine, client, now_ms, token_cipher(settings))
    finally:
        client.close()
        engine.dispose()


def schema(settings: Settings) -> Schema:
    return SqlSchema(settings.database_url)


@contextmanager
def admin(settings: Settings, *, read_only: bool = False) -> Iterator[Admin]:
    """The operator's service for one command, on an engine of its own disposed afterwards.

    A command that only reads requires the current schema and never creates or migrates a
    database; the others migrate first (which may create a SQLite file).
    """
    if read_only:
        schema(settings).require()
        engine = make_engine(settings.database_url, pool_size=1, read_only=True)
    else:
        schema(settings).upgrade()
        engine = make_engine(settings.database_url)
    try:
        yield Admin(SqlAdmin(engine, token_cipher(settings)))
    finally:
        engine.dispose()


def check_database_url(settings: Settings) -> None:
    """Refuse a database URL that is not one before anything connects (config has no SQLAlchemy)."""
    if not failures.check_url(settings.database_url):
        # The URL is not repeated: it may hold a password.
        raise ConfigError("invalid configuration: WACOEX_DATABASE_URL is not a valid database URL")


def explain_failure(exc: Exception, database_url: str | None) -> str | None:
    """One line for a database failure a user can cause or fix; None for anything else (a bug)."""
    return failures.explain(exc, database_url)
