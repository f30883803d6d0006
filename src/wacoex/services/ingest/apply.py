"""Apply webhook facts to the unified record: idempotent, order-tolerant, batch-safe.

One receipt (one webhook POST) is applied inside a transaction owned by the caller. Every fact of
every entry/change/item is applied; a fact for a number we do not serve yet is kept by holding the
receipt, and applying it again later is harmless because every step here is idempotent:
messages are unique by (number, wamid), statuses only move forward, address-book entries and
account events are fenced by Meta's timestamps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from wacoex.domain import facts as f
from wacoex.domain.facts import apply_units
from wacoex.services.ingest.history import history_chunk, history_media
from wacoex.services.ingest.identities import number_of
from wacoex.services.ingest.lifecycle import account_event, contact_change
from wacoex.services.ingest.messages import echo, inbound, sent
from wacoex.services.ingest.run import BatchCache, Outcome, Parsed, Run, webhook_seen
from wacoex.services.ingest.statuses import status_update
from wacoex.services.ports import (
    ApplyTx,
    ConversationDelta,
    FactParser,
    IngestRepository,
    NumberRef,
    Receipt,
)

log = logging.getLogger("wacoex.ingest")

_MAX_REASON = 500


class Ingest:
    """Applies parsed facts. `parse` turns a receipt's raw bytes into facts (the whatsapp adapter)."""

    def __init__(self, parse: FactParser, *, fetch_media: bool = True, clock: Callable[[], int]) -> None:
        self._parse = parse
        self._fetch_media = fetch_media
        self._clock = clock

    def parse(self, receipt: Receipt) -> Parsed:
        """The receipt's units of apply work. Pure CPU: callers run it outside the apply transaction."""
        facts = self._parse(receipt.body, receipt.source)
        return Parsed(apply_units(facts), len(facts))

    def apply(
        self,
        repo: IngestRepository,
        receipt: Receipt,
        cache: BatchCache | None = None,
        *,
        parsed: Parsed | None = None,
        out_of_time: Callable[[], bool] | None = None,
        isolate: ApplyTx | None = None,
    ) -> Outcome:
        """Apply the receipt's units from `receipt.progress` on.

        With `out_of_time`, it stops after any unit once that says so (at least one unit is applied)
        and the outcome says where to resume; every unit is idempotent, so resuming is safe.
        With `isolate`, each unit runs in a savepoint of its own: a unit that fails is rolled back
        alone and recorded as a failed item, and the others are applied.
        """
        parsed = parsed if parsed is not None else self.parse(receipt)
        units = parsed.units
        run = Run(
            repo=repo,
            receipt=receipt,
            now=self._clock(),
            fetch_media=self._fetch_media,
            cache=cache if cache is not None else BatchCache(),
        )
        start = min(receipt.progress, len(units))
        resume_at: int | None = None
        for i in range(start, len(units)):
            if out_of_time is not None and i > start and out_of_time():
                resume_at = i
                break
            if isolate is None:
                self._apply_fact(run, units[i])
            else:
                self._apply_isolated(run, units[i], isolate)
        self._flush(run)
        return Outcome(facts=parsed.facts, waiting_for=sorted(run.waiting_for), resume_at=resume_at)

    def record(self, repo: IngestRepository, facts: list[Any], at: int) -> None:
        """Apply facts the gateway itself produced (messages it sent) in the caller's transaction.

        They come with no webhook receipt; they are idempotent like every fact, so recording one
        again (after a crash between the provider's answer and this) changes nothing.
        """
        receipt = Receipt(id=0, source="api", body=b"", attempts=0, received_at=at)
        run = Run(repo=repo, receipt=receipt, now=at, fetch_media=False, cache=BatchCache())
        for fact in facts:
            self._apply_fact(run, fact)
        self._flush(run)

    def _flush(self, run: Run) -> None:
        """Write what the units applied so far did to conversations, and their events."""
        if run.repo.conversation_aliases:
            self._follow_merges(run, run.repo.conversation_aliases)
        run.repo.apply_conversation_deltas(run.deltas)
        run.repo.record_events(run.events, run.now)
        run.deltas, run.events = {}, []
        run.repo.settle()

    def _apply_isolated(self, run: Run, unit: Any, tx: ApplyTx) -> None:
        """Apply one unit in a savepoint of its own; if it fails, record it as a failed item.

        A failed unit is tried once more first: the second try reads what a concurrent writer
        committed meanwhile (a message another worker inserted). A history piece that fails is
        applied message by message, so one bad message does not take its neighbours with it.
        """
        error: Exception | None = None
        for _ in range(2):
            aliases = dict(run.repo.conversation_aliases)
            waiting = set(run.waiting_for)
            try:
                with tx.savepoint():
                    self._apply_fact(run, unit)
                    self._flush(run)
                return
            except Exception as exc:
                # Nothing the unit did survives its savepoint: neither rows nor what refers to them.
                run.deltas, run.events, run.waiting_for = {}, [], waiting
                run.cache.clear()
                run.repo.reset()
                run.repo.conversation_aliases.clear()
                run.repo.conversation_aliases.update(aliases)
                if tx.transient(exc):
                    raise
                error = exc
        assert error is not None
        if isinstance(unit, f.HistoryChunk) and len(unit.messages) > 1:
            for piece in apply_units([unit], piece=1):
                self._apply_isolated(run, piece, tx)
            return
        self._record_failed(run, unit, error, tx)

    @staticmethod
    def _record_failed(run: Run, unit: Any, error: Exception, tx: ApplyTx) -> None:
        log.warning("receipt %s: an item failed to apply: %r", run.receipt.id, error)
        first_line = (str(error).splitlines() or [""])[0].replace("\x00", "")
        reason = f"failed to apply: {type(error).__name__}: {first_line}"[:_MAX_REASON]
        source = getattr(unit, "source", None)
        field = source.field if isinstance(source, f.Source) else None
        pnid = source.phone_number_id if isinstance(source, f.Source) else None
        try:
            with tx.savepoint():
                run.repo.record_unknown(run.receipt.id, field, pnid, reason, _raw_of(unit), run.now)
                run.repo.settle()
        except Exception as exc:
            run.repo.reset()
            if tx.transient(exc):
                raise
            # The raw item is in the receipt's body; the failure itself must be listed.
            run.repo.record_unknown(run.receipt.id, field, pnid, reason, None, run.now)
            run.repo.settle()

    @staticmethod
    def _follow_merges(run: Run, aliases: dict[int, int]) -> None:
        """Deltas and events of a conversation merged away in this receipt go to the one it became."""

        def final(conv: int) -> int:
            while conv in aliases:
                conv = aliases[conv]
            return conv

        deltas: dict[int, ConversationDelta] = {}
        for conv, delta in run.deltas.items():
            target = final(conv)
            if target in deltas:
                deltas[target].absorb(delta)
            else:
                deltas[target] = delta
        run.deltas = deltas
        for event in run.events:
            if event.conversation_id is not None:
                event.conversation_id = final(event.conversation_id)

    def _apply_fact(self, run: Run, fact: Any) -> None:
        """Apply one fact by its type (HANDLERS); facts about a number need it registered."""
        kind = type(fact)
        if kind in _NUMBERLESS:
            _NUMBERLESS[kind](run, fact)
            return
        number = number_of(run, fact.source)
        if number is None:
            return
        webhook_seen(run, number)
        handler = HANDLERS.get(kind, _unhandled)
        handler(run, number, fact)


def _unknown(run: Run, fact: f.Unknown) -> None:
    run.repo.record_unknown(
        run.receipt.id, fact.source.field, fact.source.phone_number_id, fact.reason, fact.raw, run.now
    )


def _errors_reported(run: Run, number: NumberRef, fact: f.ErrorsReported) -> None:
    run.repo.record_unknown(
        run.receipt.id,
        fact.source.field,
        number.phone_number_id,
        "errors reported by WhatsApp",
        list(fact.errors),
        run.now,
    )


def _unhandled(run: Run, number: NumberRef, fact: Any) -> None:
    run.repo.record_unknown(
        run.receipt.id,
        fact.source.field,
        number.phone_number_id,
        f"unhandled fact {type(fact).__name__}",
        None,
        run.now,
    )


# Facts that name no number of ours, or find their numbers themselves.
_NUMBERLESS: dict[type, Callable[[Run, Any], None]] = {
    f.AccountEvent: account_event,
    f.Unknown: _unknown,
}
# Facts about one number, by type: (run, the number, the fact).
HANDLERS: dict[type, Callable[[Run, NumberRef, Any], None]] = {
    f.InboundMessage: inbound,
    f.Echo: echo,
    f.ApiSent: sent,
    f.StatusUpdate: status_update,
    f.HistoryChunk: history_chunk,
    f.HistoryMedia: history_media,
    f.ContactChange: contact_change,
    f.ErrorsReported: _errors_reported,
}


def _raw_of(unit: Any) -> Any:
    """What to list for a unit that failed: its item as received."""
    if isinstance(unit, f.HistoryChunk):
        raws = [m.raw for m in unit.messages]
        return raws[0] if len(raws) == 1 else raws or None
    if isinstance(unit, f.ErrorsReported):
        return list(unit.errors)
    return getattr(unit, "raw", None)
