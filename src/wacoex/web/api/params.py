"""Path parameters every route spells the same way (the OpenAPI document states their exact form)."""

from __future__ import annotations

from typing import Any

from fastapi import Path

from wacoex.web.api.cursor import INT64_MAX


def id_path() -> Any:
    # Ids are signed 64-bit on SQLite and PostgreSQL, and start at 1. A fresh Path per route: one
    # shared by two routes answered "conversation_id: Field required" on the second.
    return Path(ge=1, le=INT64_MAX)


def pnid_path() -> Any:
    # Any registered phone_number_id (the column holds 64 characters); PostgreSQL text cannot hold NUL.
    return Path(max_length=64, pattern="^[^\\x00]+$", examples=["106540352242922"])
