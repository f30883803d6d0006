"""The port to the number's provider (Meta's Cloud API, 360dialog, or the emulator standing in for either).

Implemented by wacoex.whatsapp.graph over one Graph client. Every method raises
`wacoex.errors.ProviderError` on failure, with `graph_code`, `http_status` and the two flags the
delivery engine decides on: `retryable` (certainly not sent: safe to try again later) and `ambiguous`
(the request left and no answer came back: it may have been sent; never resent automatically).
`ProviderError.details["body"]` holds the provider's error JSON when it answered one, so the
Graph-compatible proxy can relay it unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from wacoex.services.ports import NumberRef


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    """The provider accepted a message: its answer, as the Cloud API gives it."""

    wamid: str
    wa_id: str | None  # contacts[0].wa_id: the recipient as WhatsApp knows them
    input: str | None  # contacts[0].input: the `to` we sent
    message_status: str | None  # messages[0].message_status (template pacing), usually None
    body: dict[str, Any]  # the whole response, relayed verbatim by the Graph-compatible proxy


@dataclass(frozen=True, slots=True, kw_only=True)
class Upload:
    data: bytes
    mime_type: str
    filename: str | None = None


class Provider(Protocol):
    def send_message(self, number: NumberRef, body: Mapping[str, Any]) -> Accepted:
        """POST the Cloud API message body (`messaging_product`, `to`, `type`, ...) for the number."""
        ...

    def mark_read(self, number: NumberRef, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST a `{"status": "read", "message_id": ...}` body; the provider's answer."""
        ...

    def upload_media(self, number: NumberRef, upload: Upload) -> str:
        """Upload a file for the number; the media id to send it by."""
        ...

    def templates(self, number: NumberRef) -> list[dict[str, Any]]:
        """Every message template of the number's WABA, all pages, as Graph lists them."""
        ...

    def fetch_media(self, number: NumberRef, media_id: str) -> tuple[bytes, str | None]:
        """Download a media object by id: its bytes and MIME type."""
        ...

    def close(self) -> None: ...
