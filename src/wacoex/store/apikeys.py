"""API keys: stored as SHA-256 digests, shown once at creation."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wacoex.store.engine import now_ms
from wacoex.store.tables import api_keys


def create_api_key(conn: Connection, name: str) -> str:
    key = "wcx_" + secrets.token_urlsafe(32)
    conn.execute(
        api_keys.insert().values(
            name=name,
            key_sha256=hashlib.sha256(key.encode()).hexdigest(),
            prefix=key[:10],
            created_at=now_ms(),
        )
    )
    return key


def api_key_valid(conn: Connection, key: str) -> bool:
    digest = hashlib.sha256(key.encode()).hexdigest()
    row = conn.execute(
        sa.select(api_keys.c.id).where(api_keys.c.key_sha256 == digest, api_keys.c.revoked_at.is_(None))
    ).first()
    return row is not None
