"""API keys: stored as SHA-256 digests, shown once at creation, revocable; each of a workspace and a role."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from wacoex.domain.access import Principal, Role
from wacoex.errors import NotFound
from wacoex.services.ports import ApiKeyInfo
from wacoex.store.engine import now_ms
from wacoex.store.tables import DEFAULT_WORKSPACE_ID, api_keys, workspaces


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    conn: Connection, name: str, *, workspace_id: int = DEFAULT_WORKSPACE_ID, role: Role = Role.ADMIN
) -> tuple[ApiKeyInfo, str]:
    """A new key: (what is stored about it, the key itself, which is not stored)."""
    key = "wcx_" + secrets.token_urlsafe(32)
    row = conn.execute(
        api_keys.insert()
        .values(
            name=name,
            key_sha256=_digest(key),
            prefix=key[:10],
            created_at=now_ms(),
            workspace_id=workspace_id,
            role=role.value,
        )
        .returning(api_keys.c.id)
    ).one()
    return _info(conn, int(row.id)), key


def principal_for(conn: Connection, key: str) -> Principal | None:
    """Who a key is, or None for an unknown or revoked key."""
    k = api_keys.c
    row = conn.execute(
        sa.select(k.id, k.name, k.workspace_id, k.role).where(
            k.key_sha256 == _digest(key), k.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    return Principal(
        role=Role(row.role), workspace_id=int(row.workspace_id), key_id=int(row.id), name=row.name
    )


def _select() -> sa.Select[Any]:
    k = api_keys.c
    return sa.select(
        k.id,
        k.name,
        k.prefix,
        k.workspace_id,
        workspaces.c.name.label("workspace"),
        k.role,
        k.created_at,
        k.revoked_at,
    ).outerjoin(workspaces, workspaces.c.id == k.workspace_id)


def _from_row(r: Row[Any]) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=int(r.id),
        name=r.name,
        prefix=r.prefix,
        workspace_id=int(r.workspace_id),
        workspace=r.workspace or "",
        role=r.role,
        created_at=int(r.created_at),
        revoked_at=r.revoked_at,
    )


def _info(conn: Connection, key_id: int) -> ApiKeyInfo:
    row = conn.execute(_select().where(api_keys.c.id == key_id)).first()
    if row is None:
        raise NotFound(f"no API key {key_id} (see `wacoex apikeys list`)")
    return _from_row(row)


def list_api_keys(conn: Connection) -> list[ApiKeyInfo]:
    """Every key, revoked ones included, oldest first (never the key: only its first characters)."""
    return [_from_row(r) for r in conn.execute(_select().order_by(api_keys.c.id)).all()]


def revoke_api_key(conn: Connection, key_id: int) -> ApiKeyInfo:
    """Revoke a key (again: nothing changes, its first revocation time stays)."""
    conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now_ms())
    )
    return _info(conn, key_id)
