"""Keyset cursors for pagination, in a format a regular expression describes exactly.

A cursor is the sort key of a page's last row, written as fixed-width lowercase hex: each integer as
16 hex digits of its offset-binary form (any 16 digits are one signed 64-bit integer, the range of
SQLite's and PostgreSQL's integers), a string as the hex of its UTF-8 bytes. So the OpenAPI pattern
is the whole contract: a string that matches it is a position in the list (possibly past its end),
and one that does not is refused with 422 before anything reaches the database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from wacoex.errors import InvalidInput

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
_OFFSET = 1 << 63

# The longest string a cursor carries: a wamid, at most 255 characters (the column), 4 UTF-8 bytes each.
_MAX_TEXT_BYTES = 255 * 4
# Byte pairs other than 00: PostgreSQL text cannot hold NUL, so no cursor may decode to one.
_TEXT = f"(?:[1-9a-f][0-9a-f]|0[1-9a-f]){{0,{_MAX_TEXT_BYTES}}}"
_INT = "[0-9a-f]{16}"


@dataclass(frozen=True)
class Shape:
    """The typed key one list pages by: `kinds` is a sequence of `int` and (last only) `str`."""

    kinds: tuple[type, ...]
    pattern: str = field(init=False)
    max_length: int = field(init=False)
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        assert all(k is int for k in self.kinds[:-1])
        assert self.kinds[-1] in (int, str)
        body = "".join(_INT if k is int else _TEXT for k in self.kinds)
        # Empty means "the first page", the same as no cursor at all.
        object.__setattr__(self, "pattern", f"^(?:{body})?$")
        object.__setattr__(self, "_regex", re.compile(self.pattern))
        length = sum(16 if k is int else 2 * _MAX_TEXT_BYTES for k in self.kinds)
        object.__setattr__(self, "max_length", length)

    def encode(self, *values: Any) -> str:
        assert len(values) == len(self.kinds)
        return "".join(
            format(int(v) + _OFFSET, "016x") if k is int else str(v).encode().hex()
            for k, v in zip(self.kinds, values, strict=True)
        )

    def decode(self, cursor: str | None) -> tuple[Any, ...] | None:
        """The key a cursor names; None for no cursor; InvalidInput (422) for anything else."""
        if not cursor:
            return None
        if len(cursor) > self.max_length or not self._regex.fullmatch(cursor):
            raise InvalidInput(
                "cursor: not a cursor of this list; pass the next_cursor of a previous page",
                errors=[
                    {
                        "loc": ["query", "cursor"],
                        "message": f"should match {self.pattern}",
                        "type": "invalid_cursor",
                    }
                ],
            )
        values: list[Any] = []
        at = 0
        for kind in self.kinds:
            if kind is int:
                values.append(int(cursor[at : at + 16], 16) - _OFFSET)
                at += 16
            else:
                # The pattern makes this any bytes but NUL; bytes that are not UTF-8 still name a
                # position between two wamids, so they are replaced, not refused.
                values.append(bytes.fromhex(cursor[at:]).decode("utf-8", "replace"))
        return tuple(values)

    def next_page(self, rows: Sequence[Any], limit: int, *fields: str) -> str | None:
        """The cursor after the page's last row, given `limit + 1` rows were fetched; None at the end."""
        if len(rows) <= limit:
            return None
        last = rows[limit - 1]
        return self.encode(*(getattr(last, name) for name in fields))


# Receipts and unknown items page by id (descending).
BY_ID = Shape((int,))
# Conversations page by (last activity, id).
BY_TIME_ID = Shape((int, int))
# Messages page by (occurred_at, wamid).
BY_TIME_WAMID = Shape((int, str))
