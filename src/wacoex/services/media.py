"""Media vault: download inbound and echoed media on receipt, so it outlives Meta's URL and media expiry."""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from wacoex.errors import ProviderError
from wacoex.services.ports import MediaStore, PendingMedia
from wacoex.services.provider_port import Provider

log = logging.getLogger("wacoex.media")


@dataclass(slots=True)
class MediaResult:
    stored: int = 0
    failed: int = 0
    deferred: int = 0


@dataclass(frozen=True, slots=True)
class MediaRetry:
    max_attempts: int = 6
    base_seconds: float = 30.0

    def delay_ms(self, attempts: int) -> int:
        return int(self.base_seconds * (2**attempts) * 1000)


def checksum_matches(expected: str | None, data: bytes) -> bool:
    """WhatsApp's `sha256` is base64 in some payloads and hex in others; accept either, or none given."""
    if not expected:
        return True
    digest = hashlib.sha256(data).digest()
    text = expected.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text) == digest
        except ValueError:
            pass
    try:
        altchars = b"-_" if ("-" in text or "_" in text) else None
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=altchars) == digest
    except (binascii.Error, ValueError):
        return False


class MediaFetcher:
    """Fetches pending media. Transient errors are retried with backoff; anything else marks it failed."""

    def __init__(
        self,
        store: MediaStore,
        provider: Provider,
        clock: Callable[[], int],
        retry: MediaRetry | None = None,
    ) -> None:
        self._store = store
        self._provider = provider
        self._clock = clock
        self._retry = retry or MediaRetry()

    def run_once(self, limit: int = 20) -> MediaResult:
        result = MediaResult()
        for item in self._store.pending(limit, self._clock()):
            outcome = self._fetch(item)
            setattr(result, outcome, getattr(result, outcome) + 1)
        return result

    def _fetch(self, item: PendingMedia) -> str:
        if not item.number.access_token:
            self._store.mark(
                item.message_id,
                "failed",
                None,
                "no access token registered for this number (wacoex numbers add --access-token)",
            )
            return "failed"
        try:
            data, mime = self._provider.fetch_media(item.number, item.media_id)
        except ProviderError as exc:
            if exc.retryable and item.attempts + 1 < self._retry.max_attempts:
                # The provider's Retry-After, when it gave one, is a floor under our backoff.
                after = exc.details.get("retry_after")
                floor = int(after * 1000) if isinstance(after, int | float) else 0
                wait = max(self._retry.delay_ms(item.attempts), floor)
                next_at = self._clock() + wait
                self._store.retry_later(item.message_id, exc.message, next_at)
                return "deferred"
            self._store.mark(item.message_id, "failed", None, exc.message)
            return "failed"
        except Exception as exc:  # an odd answer fails this file only; errors of our store propagate
            log.exception("media %s of message %s", item.media_id, item.message_id)
            self._store.mark(item.message_id, "failed", None, f"{type(exc).__name__}: {exc}")
            return "failed"
        if not checksum_matches(item.sha256, data):
            self._store.mark(
                item.message_id, "failed", None, "downloaded file does not match WhatsApp's sha256"
            )
            return "failed"
        sha = self._store.save(data, mime or item.mime_type)
        self._store.mark(item.message_id, "stored", sha, None)
        return "stored"
