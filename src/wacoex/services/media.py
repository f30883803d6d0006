"""Media vault: download inbound and echoed media on receipt, so it outlives Meta's URL and media expiry."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from wacoex.errors import ProviderError
from wacoex.services.ports import MediaSource, MediaStore

log = logging.getLogger("wacoex.media")


@dataclass(slots=True)
class MediaResult:
    stored: int = 0
    failed: int = 0
    deferred: int = 0


class MediaFetcher:
    """Fetches pending media. A retryable provider error leaves it pending; anything else marks it failed."""

    def __init__(self, store: MediaStore, source: MediaSource) -> None:
        self._store = store
        self._source = source

    def run_once(self, limit: int = 20) -> MediaResult:
        result = MediaResult()
        for item in self._store.pending(limit):
            if not item.number.access_token:
                self._store.mark(
                    item.message_id,
                    "failed",
                    None,
                    "no access token registered for this number (wacoex numbers add --access-token)",
                )
                result.failed += 1
                continue
            try:
                data, mime = self._source.fetch(item.number, item.media_id)
            except ProviderError as exc:
                if exc.retryable:
                    result.deferred += 1
                    continue
                self._store.mark(item.message_id, "failed", None, exc.message)
                result.failed += 1
                continue
            sha = self._store.save(data, mime or item.mime_type)
            self._store.mark(item.message_id, "stored", sha, None)
            result.stored += 1
        return result
