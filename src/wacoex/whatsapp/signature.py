"""Webhook signatures: Meta's `X-Hub-Signature-256` and 360dialog's `x-360dialog-signature`.

Both are HMAC-SHA256 over the raw body bytes as received (never re-serialised JSON), compared in
constant time against every configured secret so secrets can be rotated without downtime.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

_PREFIX = "sha256="


def sign_hub(raw: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value Meta would send for `raw` under `secret`."""
    return _PREFIX + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def verify_hub_signature(raw: bytes, header: str | None, secrets: Sequence[str]) -> bool:
    """Whether `header` (`sha256=<hex>`) signs `raw` under any of `secrets`."""
    if not header:
        return False
    value = header.strip()
    if value[: len(_PREFIX)].lower() != _PREFIX:
        return False
    digest = _from_hex(value[len(_PREFIX) :])
    return digest is not None and _matches(raw, digest, secrets)


def verify_hmac_hex(raw: bytes, header_value: str | None, secrets: Sequence[str]) -> bool:
    """Whether 360dialog's `x-360dialog-signature` signs `raw` under any of `secrets`.

    360dialog does not document the encoding (spec §3.4), so hex, `sha256=<hex>` and base64
    (standard or URL-safe, padded or not) are all accepted.
    """
    if not header_value:
        return False
    value = header_value.strip()
    if value[: len(_PREFIX)].lower() == _PREFIX:
        value = value[len(_PREFIX) :]
    digest = _from_hex(value)
    if digest is None:
        digest = _from_base64(value)
    return digest is not None and _matches(raw, digest, secrets)


def _matches(raw: bytes, digest: bytes, secrets: Sequence[str]) -> bool:
    matched = False
    for secret in secrets:
        if not secret:
            continue  # an empty secret would let anyone who guesses it sign
        expected = hmac.new(secret.encode(), raw, hashlib.sha256).digest()
        # No early exit: the time taken does not depend on which secret matched.
        matched |= hmac.compare_digest(expected, digest)
    return matched


def _from_hex(text: str) -> bytes | None:
    if len(text) != 64:
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


_URLSAFE = str.maketrans("-_", "+/")


def _from_base64(text: str) -> bytes | None:
    """Standard or URL-safe base64 of a 32-byte digest, with or without padding."""
    if not text.isascii():
        return None
    padded = text.translate(_URLSAFE) + "=" * (-len(text) % 4)
    try:
        digest = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == hashlib.sha256().digest_size else None
