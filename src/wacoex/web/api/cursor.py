"""Opaque keyset cursors for pagination."""

from __future__ import annotations

import base64
from collections.abc import Sequence
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


def next_page(rows: Sequence[Any], limit: int, *fields: str) -> str | None:
    """The cursor after the page's last row, given `limit + 1` rows were fetched; None on the last page."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode(*(getattr(last, name) for name in fields))
