"""REST API v1: numbers, conversations, messages, history sync, receipts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse

from wacoex.bootstrap import Container
from wacoex.domain.access import Principal
from wacoex.domain.window import Window
from wacoex.errors import NotFound
from wacoex.services.reading import Reading
from wacoex.services.reading_port import Record
from wacoex.web.api import models
from wacoex.web.api.cursor import BY_ID, BY_TIME_ID, BY_TIME_WAMID, Shape
from wacoex.web.api.models import ReceiptState, at, iso
from wacoex.web.api.params import cursor_query, limit_query
from wacoex.web.api.params import id_path as _id
from wacoex.web.api.params import pnid_path as _pnid
from wacoex.web.deps import Caller, container, require_api_key

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": models.ErrorBody, "description": "missing, unknown or revoked API key"},
    404: {
        "model": models.ErrorBody,
        "description": "no such number, conversation, receipt or media (or it is another workspace's)",
    },
    422: {"model": models.ErrorBody, "description": "invalid parameter or cursor"},
}
# Operations across workspaces: the settings' admin key only (services/access.py).
_ADMIN_ONLY: dict[int | str, dict[str, Any]] = {
    403: {"model": models.ErrorBody, "description": "a stored key: this is for WACOEX_ADMIN_API_KEY only"}
}
router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_api_key)], tags=["v1"], responses=_ERRORS)

Limit = limit_query()


def _cursor(shape: Shape) -> Any:
    return cursor_query(shape)


def reading(request: Request) -> Reading:
    return request.app.state.container.reading


def _number_model(r: Record) -> models.Number:
    return models.Number(
        phone_number_id=r.phone_number_id,
        display_phone_number=r.display_phone_number,
        waba_id=r.waba_id,
        provider=r.provider,
        coexistence=bool(r.coexistence),
        state=r.state,
        state_reason=r.state_reason,
        state_initiated_by=r.state_initiated_by,
        state_changed_at=iso(r.state_changed_at),
        history_state=r.history_state,
        created_at=at(r.created_at),
    )


@router.get("/numbers", response_model=list[models.Number])
def get_numbers(who: Principal = Caller, read: Reading = Depends(reading)) -> list[models.Number]:
    return [_number_model(r) for r in read.numbers(who)]


@router.get("/numbers/{phone_number_id}", response_model=models.Number)
def get_number(
    phone_number_id: str = _pnid(), who: Principal = Caller, read: Reading = Depends(reading)
) -> models.Number:
    return _number_model(read.number(who, phone_number_id))


def _contact(r: Record) -> models.Contact:
    display = r.operator_name or r.book_full_name or r.profile_name or r.wa_id or r.user_id
    return models.Contact(
        id=r.contact_id,
        wa_id=r.wa_id,
        user_id=r.user_id,
        display_name=display,
        names=models.ContactNames(
            address_book=models.AddressBookName(
                full_name=r.book_full_name,
                first_name=r.book_first_name,
                updated_at=iso(r.book_updated_at),
                removed=bool(r.book_removed),
            ),
            profile=r.profile_name,
            operator=r.operator_name,
        ),
    )


@router.get("/numbers/{phone_number_id}/conversations", response_model=models.ConversationPage)
def get_conversations(
    phone_number_id: str = _pnid(),
    limit: int = Limit,
    cursor_: str = _cursor(BY_TIME_ID),
    who: Principal = Caller,
    read: Reading = Depends(reading),
) -> models.ConversationPage:
    after = BY_TIME_ID.decode(cursor_)
    found = read.conversations(who, phone_number_id, limit=limit + 1, after=after)
    rows = [r for r, _ in found]
    items = [_conversation(r, window) for r, window in found[:limit]]
    next_cursor = BY_TIME_ID.next_page(rows, limit, "sort_at", "id")
    return models.ConversationPage(items=items, next_cursor=next_cursor)


def _window(w: Window) -> models.Window:
    return models.Window(
        open=w.open,
        expires_at=iso(w.expires_at),
        reason=w.reason.value,
        free_entry_point_until=iso(w.free_entry_point_until),
    )


def _conversation(r: Record, window: Window) -> models.Conversation:
    return models.Conversation(
        id=r.id,
        contact=_contact(r),
        last_message_at=iso(r.last_message_at),
        window=_window(window),
        counts=models.Counts(messages=r.message_count, history=r.history_count, unread=r.unread_count),
    )


@router.get("/conversations/{conversation_id}", response_model=models.ConversationDetail)
def get_conversation(
    conversation_id: int = _id(),
    who: Principal = Caller,
    read: Reading = Depends(reading),
    c: Container = Depends(container),
) -> models.ConversationDetail:
    """One conversation: its contact, counters, customer service window and who handles it now."""
    row, window = read.conversation(who, conversation_id)
    takeover = c.takeovers.state(who, conversation_id).takeover
    return models.ConversationDetail(
        **_conversation(row, window).model_dump(),
        number=row.phone_number_id,
        takeover=models.Takeover(
            state=takeover.handler.value,
            cause=takeover.cause.value if takeover.cause else None,
            since=iso(takeover.since),
            until=iso(takeover.until),
        ),
    )


def _media(r: Record) -> dict[str, Any] | None:
    if not r.media_id and not r.media_state:
        return None
    url = f"/api/v1/media/{r.media_sha256}" if r.media_sha256 else None
    return {
        "id": r.media_id,
        "state": r.media_state,
        "sha256": r.media_sha256,
        "error": r.media_error,
        "url": url,
    }


def message_model(r: Record) -> models.Message:
    return models.Message(
        id=r.id,
        wamid=r.wamid,
        direction=r.direction,
        origin=r.origin,
        type=r.type,
        text=r.text,
        content=r.content,
        occurred_at=iso(r.occurred_at),
        received_at=at(r.received_at),
        status=r.status,
        status_at=iso(r.status_at),
        errors=r.errors,
        pricing=r.pricing,
        reply_to=r.reply_to,
        edited=bool(r.edited),
        edited_at=iso(r.edited_at),
        revoked=bool(r.revoked),
        revoked_at=iso(r.revoked_at),
        reactions=r.reactions,
        history_status=r.history_status,
        placeholder=bool(r.placeholder),
        media=_media(r),
        note=r.note,
        referral=r.referral,
    )


@router.get("/conversations/{conversation_id}/messages", response_model=models.MessagePage)
def get_messages(
    conversation_id: int = _id(),
    limit: int = Limit,
    cursor_: str = _cursor(BY_TIME_WAMID),
    who: Principal = Caller,
    read: Reading = Depends(reading),
) -> models.MessagePage:
    after = BY_TIME_WAMID.decode(cursor_)
    rows = read.messages(who, conversation_id, limit=limit + 1, after=after)
    items = [message_model(r) for r in rows[:limit]]
    return models.MessagePage(
        items=items, next_cursor=BY_TIME_WAMID.next_page(rows, limit, "sort_at", "wamid")
    )


@router.get("/numbers/{phone_number_id}/history-sync", response_model=models.HistorySync)
def get_history_sync(
    phone_number_id: str = _pnid(), who: Principal = Caller, read: Reading = Depends(reading)
) -> models.HistorySync:
    number, found = read.history_sync(who, phone_number_id)
    phases = [
        models.HistoryPhase(
            phase=p.phase,
            chunks_seen=len(p.chunks or []),
            chunk_orders=list(p.chunks or []),
            progress=p.progress,
            messages_imported=p.messages_imported,
            threads=p.threads,
            updated_at=at(p.updated_at),
        )
        for p in found
    ]
    return models.HistorySync(
        phone_number_id=phone_number_id,
        state=number.history_state,
        declined=number.history_state == "declined",
        declined_at=iso(number.history_declined_at),
        error=number.history_error,
        progress=max((p.progress for p in phases), default=0),
        messages_imported=sum(p.messages_imported for p in phases),
        phases=phases,
    )


@router.get("/receipts", response_model=models.ReceiptPage, responses=_ADMIN_ONLY)
def get_receipts(
    state: ReceiptState | None = Query(None, description="only receipts in this state"),
    limit: int = Limit,
    cursor_: str = _cursor(BY_ID),
    who: Principal = Caller,
    read: Reading = Depends(reading),
) -> models.ReceiptPage:
    """Raw webhook receipts, newest first (the gateway's admin key only)."""
    after = BY_ID.decode(cursor_)
    rows = read.receipts(who, state=state, limit=limit + 1, before_id=after[0] if after else None)
    items = [
        models.Receipt(
            id=r.id,
            source=r.source,
            received_at=at(r.received_at),
            state=r.state,
            attempts=r.attempts,
            error=r.error,
            waiting_for=r.waiting_for,
            facts=r.facts,
            size=r.size,
        )
        for r in rows[:limit]
    ]
    return models.ReceiptPage(items=items, next_cursor=BY_ID.next_page(rows, limit, "id"))


@router.post("/receipts/{receipt_id}/replay", response_model=models.Replayed, responses=_ADMIN_ONLY)
def replay_receipt(
    receipt_id: int = _id(), who: Principal = Caller, read: Reading = Depends(reading)
) -> models.Replayed:
    """Queue a receipt to be applied again (idempotent); the worker picks it up (gateway admin key only)."""
    return models.Replayed(replayed=read.replay(who, receipt_id))


@router.get("/unknown", response_model=models.UnknownPage, responses=_ADMIN_ONLY)
def get_unknown(
    limit: int = Limit,
    cursor_: str = _cursor(BY_ID),
    who: Principal = Caller,
    read: Reading = Depends(reading),
) -> models.UnknownPage:
    """What WhatsApp sent that we could not interpret: stored raw, never dropped (gateway admin key only)."""
    after = BY_ID.decode(cursor_)
    rows = read.unknown(who, limit=limit + 1, before_id=after[0] if after else None)
    items = [
        models.UnknownItem(
            id=r.id,
            receipt_id=r.receipt_id,
            field=r.field,
            phone_number_id=r.phone_number_id,
            reason=r.reason,
            raw=r.raw,
            created_at=at(r.created_at),
        )
        for r in rows[:limit]
    ]
    return models.UnknownPage(items=items, next_cursor=BY_ID.next_page(rows, limit, "id"))


@router.get("/media/{sha256}", response_class=FileResponse)
def get_media(
    request: Request,
    sha256: str = Path(pattern="^[0-9a-f]{64}$"),
    who: Principal = Caller,
    read: Reading = Depends(reading),
) -> FileResponse:
    """A stored media file by its SHA-256 (the `media.url` of a message the caller may read)."""
    read.require_media(who, sha256)
    found = request.app.state.container.media_store.file(sha256)
    if found is None:
        raise NotFound(f"no stored media {sha256}")
    path, mime = found
    return FileResponse(path, media_type=mime or "application/octet-stream")
