"""The jobs of a worker process: applying receipts and downloading media."""

from __future__ import annotations

from wacoex.services.media import MediaFetcher
from wacoex.services.notify import Notifier
from wacoex.services.receipts import ReceiptProcessor


class ApplyReceipts:
    """Claims and applies one batch of due receipts; whatever it applied may have media to fetch."""

    name = "receipts"

    def __init__(self, processor: ReceiptProcessor, batch: int, *, applied: Notifier | None = None) -> None:
        self._processor = processor
        self._batch = batch
        self._applied = applied

    def run_once(self) -> bool:
        result = self._processor.run_once(self._batch)
        if result.done and self._applied is not None:
            self._applied.notify()
        return result.claimed > 0


class FetchMedia:
    """Downloads one round of pending media; a download deferred to a later try is no work done."""

    name = "media"

    def __init__(self, fetcher: MediaFetcher) -> None:
        self._fetcher = fetcher

    def run_once(self) -> bool:
        result = self._fetcher.run_once()
        return result.stored + result.failed > 0
