"""The numbers the gateway serves: register, list, look up; their provider tokens encrypted at rest."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from wacoex.domain.ids import digits, same_number
from wacoex.errors import Conflict, InvalidInput, NotFound
from wacoex.services.ports import NumberRef
from wacoex.store.engine import now_ms
from wacoex.store.receipts import release_held
from wacoex.store.tables import DEFAULT_WORKSPACE_ID, numbers, workspaces
from wacoex.store.token_cipher import TokenCipher


def number_ref(row: Row[Any], cipher: TokenCipher | None = None) -> NumberRef:
    """The number of a `numbers` row; its token decrypted with `cipher`, or None without one (the
    apply path reads numbers by the thousand and never needs a token)."""
    return NumberRef(
        id=int(row.id),
        phone_number_id=row.phone_number_id,
        display_phone_number=row.display_phone_number,
        waba_id=row.waba_id,
        provider=row.provider,
        coexistence=bool(row.coexistence),
        state=row.state,
        state_changed_at=row.state_changed_at,
        access_token=cipher.decrypt(row.access_token) if cipher is not None else None,
        workspace_id=int(row.workspace_id),
        send_rate=row.send_rate,
        last_webhook_at=row.last_webhook_at,
    )


def add_number(
    conn: Connection,
    *,
    phone_number_id: str,
    display_phone_number: str,
    waba_id: str,
    provider: str,
    coexistence: bool,
    access_token: str | None = None,
    cipher: TokenCipher | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> tuple[NumberRef, int]:
    """Register a number; webhooks held for it are released. Returns the number and receipts released.

    A token is stored encrypted with `cipher`, which it therefore needs.
    """
    if access_token is not None and cipher is None:
        raise ValueError("a number's access token is stored encrypted: pass the cipher")
    if provider not in ("meta", "360dialog"):
        raise InvalidInput(f"provider must be 'meta' or '360dialog', not {provider!r}")
    display = digits(display_phone_number)
    if not phone_number_id.strip() or not display:
        raise InvalidInput("phone_number_id and display_phone_number are required")
    if conn.execute(sa.select(workspaces.c.id).where(workspaces.c.id == workspace_id)).first() is None:
        raise NotFound(f"no workspace {workspace_id} (see `wacoex workspaces list`)")
    exists = conn.execute(sa.select(numbers.c.id).where(numbers.c.phone_number_id == phone_number_id)).first()
    if exists:
        raise Conflict(f"number {phone_number_id} is already registered")
    # Webhooks and history are matched to a number by its display number too (in any spelling, e.g.
    # Brazil's optional ninth digit): two numbers under one display number would be ambiguous.
    # The unique index on display_phone_number backs the exact spelling up in the database.
    rows = conn.execute(sa.select(numbers.c.phone_number_id, numbers.c.display_phone_number)).all()
    for other in rows:
        if same_number(other.display_phone_number, display):
            raise Conflict(
                f"display number +{display} is already registered for number {other.phone_number_id}"
            )
    at = now_ms()
    insert = numbers.insert().values(
        phone_number_id=phone_number_id,
        display_phone_number=display,
        waba_id=waba_id,
        provider=provider,
        coexistence=coexistence,
        state="connected",
        history_state="none",
        access_token=cipher.encrypt(access_token) if cipher is not None and access_token else None,
        workspace_id=workspace_id,
        created_at=at,
        updated_at=at,
    )
    try:
        conn.execute(insert)
    except sa.exc.IntegrityError as exc:  # registered at the same moment by another process
        raise Conflict(
            f"number {phone_number_id} or display number +{display} is already registered"
        ) from exc
    row = conn.execute(sa.select(numbers).where(numbers.c.phone_number_id == phone_number_id)).one()
    released = release_held(conn, [phone_number_id, display, f"waba:{waba_id}"])
    return number_ref(row, cipher), released


def list_numbers(conn: Connection, workspace_id: int | None = None) -> list[Row[Any]]:
    """Every number, or those of one workspace."""
    q = sa.select(numbers).order_by(numbers.c.id)
    if workspace_id is not None:
        q = q.where(numbers.c.workspace_id == workspace_id)
    return list(conn.execute(q).all())


def reencrypt_tokens(conn: Connection, cipher: TokenCipher) -> int:
    """Every stored token under the cipher's current key (plaintext ones encrypted); how many changed."""
    n = numbers.c
    rows = conn.execute(sa.select(n.id, n.access_token).where(n.access_token.is_not(None))).all()
    changed = [
        {"_id": r.id, "_token": cipher.reencrypt(r.access_token)}
        for r in rows
        if r.access_token and not cipher.current(r.access_token)
    ]
    if changed:
        conn.execute(
            numbers.update().where(n.id == sa.bindparam("_id")).values(access_token=sa.bindparam("_token")),
            changed,
        )
    return len(changed)


def get_number(conn: Connection, phone_number_id: str) -> Row[Any] | None:
    return conn.execute(sa.select(numbers).where(numbers.c.phone_number_id == phone_number_id)).first()
