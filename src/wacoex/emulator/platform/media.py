"""Media objects: upload, metadata, short-lived signed download URLs, expiry, delete.

Uploaded media lives 30 days (``media_ttl``); the URL from ``GET /{media_id}`` works for 5 minutes
(``media_url_ttl``) and needs the same credentials as the API, like Meta's lookaside URLs. It points
at the emulator itself (the base URL the request came in on) unless ``media_base_url`` is set, so a
client never sends its token to an outside host.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode

from wacoex.emulator.platform.rules import GraphError, unknown_object
from wacoex.emulator.world import MediaObject, World

DOWNLOAD_PATH = "/whatsapp_business/attachments/"
_MB = 1024 * 1024
_LIMITS = {"image": 5 * _MB, "audio": 16 * _MB, "video": 16 * _MB, "sticker": 500 * 1024}
SUPPORTED_MIME_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "audio/aac",
        "audio/amr",
        "audio/mpeg",
        "audio/mp4",
        "audio/ogg",
        "audio/ogg; codecs=opus",
        "video/mp4",
        "video/3gpp",
        "text/plain",
        "application/pdf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
)


def media_error(details: str) -> GraphError:
    return GraphError(131053, "Media upload error", details)


def store_media(
    world: World, phone_number_id: str, data: bytes, mime_type: str, *, filename: str | None = None
) -> MediaObject:
    """Keep bytes as a media object (uploads, and media customers or the phone send)."""
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    media = MediaObject(
        id=world.new_id("8"),
        phone_number_id=phone_number_id,
        mime_type=mime_type,
        data=data,
        sha256=digest,
        created_at=world.clock.now(),
        filename=filename,
    )
    world.media[media.id] = media
    return media


def upload(
    world: World, phone_number_id: str, data: bytes, mime_type: str, filename: str | None
) -> MediaObject:
    base = mime_type.split(";")[0].strip().lower()
    if mime_type.lower() not in SUPPORTED_MIME_TYPES and base not in SUPPORTED_MIME_TYPES:
        raise media_error(f"Unsupported media type {mime_type}.")
    kind = "sticker" if base == "image/webp" else base.split("/")[0]
    limit = _LIMITS.get(kind, 100 * _MB)
    if len(data) > limit:
        raise media_error(f"Media file size {len(data)} exceeds the {limit} byte limit for {kind}.")
    if not data:
        raise media_error("The uploaded file is empty.")
    return store_media(world, phone_number_id, data, mime_type, filename=filename)


def live_media(world: World, media_id: str) -> MediaObject:
    """The media object, unless it does not exist or has expired (then Graph error 100/33)."""
    media = world.media.get(media_id)
    if media is None or media.expired or world.clock.now() > media.created_at + world.config.media_ttl:
        raise unknown_object(media_id)
    return media


def _hash(world: World, media_id: str, expires: int) -> str:
    return hmac.new(
        world.config.app_secret.encode(), f"{media_id}:{expires}".encode(), hashlib.sha256
    ).hexdigest()[:24]


def download_url(world: World, media: MediaObject, request_base_url: str) -> str:
    """A signed URL for 5 minutes, on ``media_base_url`` when set, else where the request came in."""
    expires = int(world.clock.now() + world.config.media_url_ttl)
    query = urlencode({"mid": media.id, "ext": expires, "hash": _hash(world, media.id, expires)})
    base = world.config.media_base_url or request_base_url
    return f"{base.rstrip('/')}{DOWNLOAD_PATH}?{query}"


def metadata(world: World, media: MediaObject, request_base_url: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "url": download_url(world, media, request_base_url),
        "mime_type": media.mime_type,
        "sha256": media.sha256,
        "file_size": media.file_size,
        "id": media.id,
    }


def resolve_download(world: World, mid: str, ext: str, given_hash: str) -> MediaObject | None:
    """The media a download URL points at, or None if the URL is forged, expired or the media gone."""
    try:
        expires = int(ext)
    except ValueError:
        return None
    if not hmac.compare_digest(_hash(world, mid, expires), given_hash):
        return None
    if world.clock.now() > expires:
        return None
    media = world.media.get(mid)
    if media is None or media.expired or world.clock.now() > media.created_at + world.config.media_ttl:
        return None
    return media


def delete(world: World, media_id: str) -> None:
    live_media(world, media_id)
    del world.media[media_id]
