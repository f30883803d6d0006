"""Path parameters every route spells the same way (the OpenAPI document states their exact form)."""

from __future__ import annotations

from typing import Any

from fastapi import Path, Query

from wacoex.web.api.cursor import INT64_MAX, Shape


def id_path() -> Any:
    # Ids are signed 64-bit on SQLite and PostgreSQL, and start at 1. A fresh Path per route: one
    # shared by two routes answered "conversation_id: Field required" on the second.
    return Path(ge=1, le=INT64_MAX)


def pnid_path() -> Any:
    # Any registered phone_number_id (the column holds 64 characters); PostgreSQL text cannot hold NUL.
    return Path(max_length=64, pattern="^[^\\x00]+$", examples=["106540352242922"])


def limit_query() -> Any:
    return Query(50, ge=1, le=500)


def cursor_query(shape: Shape) -> Any:
    # The pattern is checked by Shape.decode (one message for every malformed cursor); OpenAPI
    # carries it so that every string a client can build from the document is a valid cursor.
    return Query(
        "",
        alias="cursor",
        description="next_cursor of the previous page; empty or absent for the first page",
        json_schema_extra={"pattern": shape.pattern, "maxLength": shape.max_length},
    )
