"""Opaque keyset cursors for pagination."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from wacoex.errors import InvalidInput


def encode(*values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


def decode(cursor: str | None, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidInput("invalid cursor") from exc
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidInput("invalid cursor")
    return values
