"""Draining the receipt queue: apply, retry with backoff, park, hold for unregistered numbers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from wacoex.errors import PayloadError
from wacoex.services.ingest import Ingest
from wacoex.services.ingest_run import BatchCache
from wacoex.services.ports import UnitOfWork

log = logging.getLogger("wacoex.receipts")


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


class ReceiptProcessor:
    """Applies claimed receipts; each in a savepoint so one bad receipt never blocks the others."""

    def __init__(
        self, uow: UnitOfWork, ingest: Ingest, policy: RetryPolicy, clock: Callable[[], int]
    ) -> None:
        self._uow = uow
        self._ingest = ingest
        self._policy = policy
        self._clock = clock

    def run_once(self, limit: int = 50) -> BatchResult:
        result = BatchResult()
        with self._uow() as tx:
            batch = tx.queue.claim(limit, self._clock())
            result.claimed = len(batch)
            cache = BatchCache()
            done: list[tuple[int, int]] = []
            for receipt in batch:
                now = self._clock()
                try:
                    with tx.savepoint():
                        if receipt.applied_before:
                            tx.forget_unknowns(receipt.id)
                        outcome = self._ingest.apply(tx.repo, receipt, cache)
                except PayloadError as exc:
                    # Not JSON at all: retrying cannot help. Keep it, visible and replayable.
                    tx.queue.mark_failed(receipt.id, f"unparseable: {exc}", now, park=True)
                    result.parked += 1
                    continue
                except Exception as exc:
                    cache.clear()  # the savepoint rolled back rows the cache may point at
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
                    continue
                if outcome.waiting_for:
                    tx.queue.hold(receipt.id, outcome.waiting_for, outcome.facts, now)
                    result.held += 1
                else:
                    done.append((receipt.id, outcome.facts))
                    result.done += 1
            tx.queue.mark_done_many(done, self._clock())
        return result

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
            if r.claimed == 0:
                break
        return total
