"""Draining the receipt queue: apply, retry with backoff, park, hold for unregistered numbers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from wacoex.errors import PayloadError
from wacoex.services.ingest import Ingest
from wacoex.services.ingest.keys import gather
from wacoex.services.ingest.run import BatchCache, Outcome, Parsed
from wacoex.services.ports import ApplyTx, Lookups, Receipt, ReceiptPeek, UnitOfWork

log = logging.getLogger("wacoex.receipts")

SET_RETRIES = 1
"""Further tries of a claimed batch together before it is applied receipt by receipt."""

MIN_SLICE = 0.01
"""Seconds of work an apply transaction does before it gives way to a webhook waiting to be stored."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 2.0
    cap_seconds: float = 3600.0

    def next_delay_ms(self, attempts: int) -> int:
        return int(min(self.cap_seconds, self.base_seconds * (2 ** max(attempts, 0))) * 1000)


@dataclass(slots=True)
class BatchResult:
    claimed: int = 0
    done: int = 0
    failed: int = 0
    parked: int = 0
    held: int = 0
    # stopped at the lock budget: receipts applied in part (they resume next time) or not reached
    partial: int = 0
    deferred: int = 0


class ReceiptProcessor:
    """Applies claimed receipts; each in a savepoint so one bad receipt never blocks the others.

    Nor does one bad item block its siblings: a receipt that fails is applied again item by item
    (`_apply`), and only the item that fails is left out, listed as a failed item.

    Bodies are parsed before the transaction starts (`peek`), so the write lock is never held for
    parsing. With a `lock_budget` (seconds) a transaction stops taking work once it has held the lock
    that long, or at once when `yield_to` says a webhook is waiting to be stored: the receipt it was
    in keeps its progress and resumes in the next transaction. So no webhook, however large, holds
    SQLite's one write lock for longer than about the budget plus one unit of work (one fact, or
    500 messages of a history chunk).
    """

    def __init__(
        self,
        uow: UnitOfWork,
        ingest: Ingest,
        policy: RetryPolicy,
        clock: Callable[[], int],
        *,
        peek: ReceiptPeek | None = None,
        lock_budget: float | None = None,
        yield_to: Callable[[], bool] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow = uow
        self._ingest = ingest
        self._policy = policy
        self._clock = clock
        self._peek = peek
        self._lock_budget = lock_budget
        self._yield_to = yield_to
        self._monotonic = monotonic
        self._parsed: dict[int, Parsed] = {}
        # The lookups of a receipt stopped at the budget live on into the transaction that resumes
        # it, as they lived for its whole application when it took one transaction.
        self._resumed: tuple[int, BatchCache] | None = None

    def _prepare(self, limit: int) -> None:
        """Parse the receipts due next, outside any transaction; unparseable ones are left to `run_once`."""
        if self._peek is None:
            return
        kept: dict[int, Parsed] = {}
        for receipt in self._peek(limit, self._clock()):
            parsed = self._parsed.get(receipt.id)
            if parsed is None:
                try:
                    parsed = self._ingest.parse(receipt)
                except PayloadError:
                    continue
            kept[receipt.id] = parsed
        self._parsed = kept

    def _deadline(self) -> Callable[[], bool] | None:
        budget, yield_to, monotonic = self._lock_budget, self._yield_to, self._monotonic
        if budget is None and yield_to is None:
            return None
        started = monotonic()
        # A writer waiting gets the lock after at most this much work (and the unit in progress):
        # committing after every unit under steady ingress would spend the apply on commits.
        quantum = min(budget, MIN_SLICE) if budget is not None else MIN_SLICE

        def out_of_time() -> bool:
            spent = monotonic() - started
            if yield_to is not None and spent >= quantum and yield_to():
                return True
            return budget is not None and spent >= budget

        return out_of_time

    def _apply(
        self,
        tx: ApplyTx,
        receipt: Receipt,
        parsed: Parsed,
        cache: BatchCache,
        out_of_time: Callable[[], bool] | None,
    ) -> Outcome:
        """Apply a receipt in one savepoint; if an item makes that fail, again unit by unit.

        The second pass gives each unit a savepoint of its own (only then: savepoints cost round
        trips on PostgreSQL), so the item that fails is recorded as a failed item and its siblings
        are applied. A failure that is nobody's data (contention, a lost connection) is raised: the
        receipt as a whole is retried later.
        """
        try:
            with tx.savepoint():
                if receipt.applied_before and receipt.progress == 0:
                    tx.forget_unknowns(receipt.id)
                return self._ingest.apply(tx.repo, receipt, cache, parsed=parsed, out_of_time=out_of_time)
        except Exception as exc:
            tx.repo.reset()
            cache.clear()  # the savepoint rolled back rows the cache may point at
            if tx.transient(exc):
                raise
            log.info("receipt %s: applying it item by item after %r", receipt.id, exc)
        with tx.savepoint():
            if receipt.applied_before and receipt.progress == 0:
                tx.forget_unknowns(receipt.id)
            return self._ingest.apply(
                tx.repo, receipt, cache, parsed=parsed, out_of_time=out_of_time, isolate=tx
            )

    def run_once(self, limit: int = 50) -> BatchResult:
        self._prepare(limit)
        result = BatchResult()
        with self._uow() as tx:
            out_of_time = self._deadline()
            batch = tx.queue.claim(limit, self._clock())
            result.claimed = len(batch)
            resumed, self._resumed = self._resumed, None
            same = resumed is not None and batch and batch[0].id == resumed[0]
            cache = resumed[1] if same and resumed is not None else BatchCache()
            todo = self._parse_all(tx, batch, result)
            applied = self._apply_set(tx, todo, cache, out_of_time) if len(todo) > 1 else None
            if applied is None:
                applied, reached = self._apply_each(tx, todo, cache, out_of_time, result)
            else:
                reached = len(applied)
            result.deferred = len(todo) - reached  # stopped at the lock budget before these
            for receipt, parsed in todo[reached:]:
                # Claimed again next time: parsing a 3 MB history chunk again costs ~0.1 s.
                self._parsed[receipt.id] = parsed
            self._record(tx, applied, cache, result)
        return result

    def _parse_all(
        self, tx: ApplyTx, batch: list[Receipt], result: BatchResult
    ) -> list[tuple[Receipt, Parsed]]:
        """Each receipt's units; one that is not JSON at all is parked (retrying cannot help)."""
        todo: list[tuple[Receipt, Parsed]] = []
        for receipt in batch:
            try:
                parsed = self._parsed.pop(receipt.id, None)
                todo.append((receipt, parsed if parsed is not None else self._ingest.parse(receipt)))
            except PayloadError as exc:
                # Keep it, visible and replayable.
                tx.queue.mark_failed(receipt.id, f"unparseable: {exc}", self._clock(), park=True)
                result.parked += 1
            except Exception as exc:
                self._failed(tx, receipt, exc, self._clock(), result)
        return todo

    def _failed(self, tx: ApplyTx, receipt: Receipt, exc: Exception, now: int, result: BatchResult) -> None:
        """Retry later with backoff; park after the last attempt."""
        attempts = receipt.attempts + 1
        park = attempts >= self._policy.max_attempts
        log.warning("receipt %s failed (attempt %s): %r", receipt.id, attempts, exc)
        tx.queue.mark_failed(
            receipt.id,
            f"{type(exc).__name__}: {exc}",
            now + self._policy.next_delay_ms(receipt.attempts),
            park=park,
        )
        if park:
            result.parked += 1
        else:
            result.failed += 1

    def _apply_set(
        self,
        tx: ApplyTx,
        todo: list[tuple[Receipt, Parsed]],
        cache: BatchCache,
        out_of_time: Callable[[], bool] | None,
    ) -> list[tuple[Receipt, Parsed, Outcome]] | None:
        """Apply the receipts together: their lookups read at once, their writes written at once.

        A batch that fails is tried together once more before the caller applies its receipts one
        by one (which finds the receipt and the item at fault, at several times the cost): with
        several PostgreSQL workers most failures are another worker's row, committed by the time
        ours failed on its unique key (a new contact, the message a status points at), or a
        deadlock between two batches; the second try reads those rows. None when both fail.
        """
        for attempt in range(1 + SET_RETRIES):
            try:
                return self._try_set(tx, todo, cache, out_of_time)
            except Exception as exc:
                tx.repo.reset()
                cache.clear()  # the savepoint rolled back rows the cache may point at
                log.info("applying %s receipts together failed (try %s, %r)", len(todo), attempt + 1, exc)
        return None

    def _try_set(
        self,
        tx: ApplyTx,
        todo: list[tuple[Receipt, Parsed]],
        cache: BatchCache,
        out_of_time: Callable[[], bool] | None,
    ) -> list[tuple[Receipt, Parsed, Outcome]]:
        lookups: Lookups = {}
        gather((unit for receipt, parsed in todo for unit in parsed.units[receipt.progress :]), lookups)
        repo = tx.repo
        applied: list[tuple[Receipt, Parsed, Outcome]] = []
        try:
            with tx.savepoint():
                repo.prefetch(lookups)
                repo.defer(True)
                for index, (receipt, parsed) in enumerate(todo):
                    if out_of_time is not None and index > 0 and out_of_time():
                        break
                    if receipt.applied_before and receipt.progress == 0:
                        tx.forget_unknowns(receipt.id)
                    outcome = self._ingest.apply(repo, receipt, cache, parsed=parsed, out_of_time=out_of_time)
                    applied.append((receipt, parsed, outcome))
                    if outcome.resume_at is not None:
                        break
                repo.flush()
        finally:
            repo.defer(False)
        return applied

    def _apply_each(
        self,
        tx: ApplyTx,
        todo: list[tuple[Receipt, Parsed]],
        cache: BatchCache,
        out_of_time: Callable[[], bool] | None,
        result: BatchResult,
    ) -> tuple[list[tuple[Receipt, Parsed, Outcome]], int]:
        """Apply the receipts one by one, each in a savepoint: one that fails is retried later.

        Returns those applied, and how many were reached before the lock budget ran out.
        """
        applied: list[tuple[Receipt, Parsed, Outcome]] = []
        reached = 0
        for index, (receipt, parsed) in enumerate(todo):
            if out_of_time is not None and index > 0 and out_of_time():
                break
            reached += 1
            now = self._clock()
            try:
                outcome = self._apply(tx, receipt, parsed, cache, out_of_time)
            except Exception as exc:
                tx.repo.reset()
                cache.clear()  # the savepoint rolled back rows the cache may point at
                self._failed(tx, receipt, exc, now, result)
                continue
            applied.append((receipt, parsed, outcome))
            if outcome.resume_at is not None:
                break
        return applied, reached

    def _record(
        self,
        tx: ApplyTx,
        applied: list[tuple[Receipt, Parsed, Outcome]],
        cache: BatchCache,
        result: BatchResult,
    ) -> None:
        """Each applied receipt's new state: done, held for a number, or resuming where it stopped."""
        done: list[tuple[int, int]] = []
        now = self._clock()
        for receipt, parsed, outcome in applied:
            waiting_for = sorted({*receipt.waiting_for, *outcome.waiting_for})
            if outcome.resume_at is not None:
                tx.queue.save_progress(receipt.id, outcome.resume_at, waiting_for)
                self._parsed[receipt.id] = parsed
                self._resumed = (receipt.id, cache)
                result.partial += 1
            elif waiting_for:
                tx.queue.hold(receipt.id, waiting_for, outcome.facts, now)
                result.held += 1
            else:
                done.append((receipt.id, outcome.facts))
                result.done += 1
        tx.queue.mark_done_many(done, self._clock())

    def drain(self, limit: int = 50, max_batches: int = 1_000_000) -> BatchResult:
        """Apply until nothing is due. For tests, the CLI and benchmarks."""
        total = BatchResult()
        for _ in range(max_batches):
            r = self.run_once(limit)
            total.claimed += r.claimed
            total.done += r.done
            total.failed += r.failed
            total.parked += r.parked
            total.held += r.held
            total.partial += r.partial
            total.deferred += r.deferred
            if r.claimed == 0:
                break
        return total
