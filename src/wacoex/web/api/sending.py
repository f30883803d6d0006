"""The send API: messages, sends, media upload, templates, takeover (docs/api.md, "Sending")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Header, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter

from wacoex.bootstrap import Container
from wacoex.domain.access import Principal
from wacoex.domain.outbound import from_api
from wacoex.services.send import MEDIA_MAX_BYTES
from wacoex.services.send_port import SendRecord, SendState
from wacoex.services.takeover import MAX_TAKE_MINUTES, ConversationControl
from wacoex.web.api.cursor import BY_ID
from wacoex.web.api.models import ErrorBody, iso
from wacoex.web.api.params import cursor_query, id_path, limit_query, pnid_path
from wacoex.web.api.send_models import SendRequest
from wacoex.web.deps import Caller, container
from wacoex.web.errors import body as error_body


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("missing, unknown or revoked API key"),
    403: _error("the key's role may not do this (a read-only key sends; a bot releases)"),
    404: _error("no such number, conversation or send (or it is another workspace's)"),
    400: _error("the body is not JSON"),
    422: _error("the body or a parameter is invalid"),
}
# A send's answers besides 200 (docs/api.md, "Sending").
_SEND: dict[int | str, dict[str, Any]] = {
    202: {"description": "queued: poll GET /api/v1/sends/{id}"},
    409: _error("refused by the rules before anything left, an Idempotency-Key reused, or failed 131047"),
    429: _error("failed: no turn within the wait, or the provider's throughput refusal"),
    502: _error("failed: the provider refused it or could not be reached (certainly not sent)"),
    504: _error("ambiguous: the request left and no answer came back (never resent)"),
}
router = APIRouter(prefix="/api/v1", tags=["sending"], responses=_ERRORS)


_TIME = TypeAdapter(datetime | None)


def _time(ms: int | None) -> Any:
    """An epoch-ms time as the rest of the API writes it (ISO 8601, UTC, as pydantic serializes it)."""
    return _TIME.dump_python(iso(ms), mode="json")


def send_view(rec: SendRecord) -> dict[str, Any]:
    """A send as the API shows it."""
    error = None
    if rec.error_code is not None and rec.state in (SendState.FAILED, SendState.AMBIGUOUS, SendState.QUEUED):
        error = {"code": rec.error_code, "message": rec.error_message, "graph_code": rec.graph_code}
    return {
        "id": rec.id,
        "state": rec.state.value,
        "wamid": rec.wamid,
        "to": rec.to_input,
        "wa_id": rec.wa_id,
        "type": rec.type,
        "queued": rec.queued,
        "attempts": rec.attempts,
        "conversation_id": rec.conversation_id,
        "message_id": rec.message_id,
        "category": rec.category,
        "estimated_cost": rec.estimated_cost,
        "currency": rec.currency,
        "error": error,
        "note": rec.error_message if rec.state is SendState.SENT else None,
        "created_at": _time(rec.created_at),
        "sent_at": _time(rec.sent_at),
    }


# A failed send answers the status its reason deserves; the body is the error shape with the send.
_FAILED_STATUS = {131047: 409, 130429: 429, 131056: 429}


def send_answer(rec: SendRecord) -> JSONResponse:
    view = send_view(rec)
    if rec.state is SendState.SENT:
        return JSONResponse(view, status_code=200)
    if rec.state in (SendState.QUEUED, SendState.SENDING):
        return JSONResponse(view, status_code=202)
    if rec.state is SendState.AMBIGUOUS:
        return JSONResponse(
            error_body("ambiguous", rec.error_message or "the send's outcome is unknown", {"send": view}),
            status_code=504,
        )
    status = _FAILED_STATUS.get(rec.graph_code or 0, 429 if rec.error_code == "throttled" else 502)
    return JSONResponse(
        error_body(rec.error_code or "provider_error", rec.error_message or "not sent", {"send": view}),
        status_code=status,
    )


_EXAMPLES = {
    "text": {"value": {"to": "+4915112345678", "text": "Your order has shipped."}},
    "template": {
        "value": {
            "to": "+4915112345678",
            "template": {"name": "order_update", "language": "en_US", "parameters": ["Sheena", "A-1042"]},
        }
    },
    "image": {
        "value": {"to": "+4915112345678", "image": {"link": "https://example.com/a.jpg", "caption": "Blue"}}
    },
    "reply": {"value": {"to": "+4915112345678", "text": "Yes, in blue.", "reply_to": "wamid.HBgM..."}},
    "queued": {"value": {"to": "+4915112345678", "text": "Campaign message", "queue": True}},
}


@router.post(
    "/numbers/{phone_number_id}/messages",
    summary='Send a message (synchronous, or queued with "queue": true)',
    responses=_SEND,
)
def send_message(
    payload: Annotated[SendRequest, Body(openapi_examples=_EXAMPLES)],
    phone_number_id: str = pnid_path(),
    who: Principal = Caller,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            pattern=r"\S",
            description="same key, same answer",
        ),
    ] = None,
    c: Container = Depends(container),
) -> JSONResponse:
    body = payload.model_dump(exclude_none=True)
    queue = bool(body.pop("queue", False))
    out = from_api(body)
    rec = c.sender.send(who, phone_number_id, out, route="api", idempotency_key=key, queue=queue)
    return send_answer(rec)


@router.get("/sends", summary="Sends, newest first (?state=ambiguous: the ones an operator must decide)")
def list_sends(
    state: SendState | None = Query(None, description="only sends in this state"),
    limit: int = limit_query(),
    cursor_: str = cursor_query(BY_ID),
    who: Principal = Caller,
    c: Container = Depends(container),
) -> dict[str, Any]:
    after = BY_ID.decode(cursor_)
    rows = c.sender.sends(who, state, after[0] if after else None, limit + 1)
    return {"items": [send_view(r) for r in rows[:limit]], "next_cursor": BY_ID.next_page(rows, limit, "id")}


@router.get("/sends/{send_id}", summary="A send: its state, wamid or error")
def get_send(
    send_id: int = id_path(), who: Principal = Caller, c: Container = Depends(container)
) -> dict[str, Any]:
    return send_view(c.sender.get(who, send_id))


@router.post(
    "/numbers/{phone_number_id}/media",
    summary="Upload a file to send by its media id",
    responses={
        409: _error("the number cannot call its provider (no access token)"),
        502: _SEND[502],
        504: _SEND[504],
    },
    # The file may not be empty (FastAPI cannot say so of an UploadFile).
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "minLength": 1,
                                "maxLength": MEDIA_MAX_BYTES,
                            }
                        },
                    }
                }
            },
        }
    },
)
def upload_media(
    phone_number_id: str = pnid_path(),
    who: Principal = Caller,
    file: UploadFile = File(...),
    c: Container = Depends(container),
) -> dict[str, str]:
    data = file.file.read(MEDIA_MAX_BYTES + 1)
    return {"id": c.sender.upload(who, phone_number_id, data, file.content_type, file.filename)}


@router.get("/numbers/{phone_number_id}/templates", summary="The number's message templates, as last synced")
def list_templates(
    phone_number_id: str = pnid_path(), who: Principal = Caller, c: Container = Depends(container)
) -> dict[str, Any]:
    number = c.sender.number_for(who, phone_number_id)
    items = c.templates.list(number)
    return {
        "synced_at": c.templates.synced_at(number),
        "items": [
            {
                "name": t.name,
                "language": t.language,
                "status": t.status,
                "category": t.category,
                "parameter_format": t.parameter_format or "POSITIONAL",
                "components": t.components,
            }
            for t in items
        ],
    }


@router.post(
    "/numbers/{phone_number_id}/templates/sync",
    summary="Fetch the templates from the provider now",
    responses={
        409: _error("the number cannot call its provider (no access token)"),
        502: _SEND[502],
        504: _SEND[504],
    },
)
def sync_templates(
    phone_number_id: str = pnid_path(), who: Principal = Caller, c: Container = Depends(container)
) -> dict[str, Any]:
    number = c.sender.number_for(who, phone_number_id)
    return {"synced": c.templates.sync(number)}


def control_view(conversation_id: int, control: ConversationControl) -> dict[str, Any]:
    takeover, window = control.takeover, control.window
    return {
        "conversation_id": conversation_id,
        "takeover": {
            "state": takeover.handler.value,
            "cause": takeover.cause.value if takeover.cause else None,
            "since": _time(takeover.since),
            "until": _time(takeover.until),
        },
        "window": {
            "open": window.open,
            "expires_at": _time(window.expires_at),
            "reason": window.reason.value,
            "free_entry_point_until": _time(window.free_entry_point_until),
        },
    }


@router.get("/conversations/{conversation_id}/control", summary="Who handles it now, and its window")
def conversation_control(
    conversation_id: int = id_path(), who: Principal = Caller, c: Container = Depends(container)
) -> dict[str, Any]:
    return control_view(conversation_id, c.takeovers.state(who, conversation_id))


@router.post(
    "/conversations/{conversation_id}/takeover", summary="Take the conversation over (bots are refused)"
)
def take_over(
    conversation_id: int = id_path(),
    who: Principal = Caller,
    minutes: Annotated[
        int | None, Body(embed=True, ge=1, le=MAX_TAKE_MINUTES, description="default: the takeover time")
    ] = None,
    c: Container = Depends(container),
) -> dict[str, Any]:
    return control_view(conversation_id, c.takeovers.take(who, conversation_id, minutes))


@router.post("/conversations/{conversation_id}/release", summary="Hand the conversation back to the bots")
def release(
    conversation_id: int = id_path(), who: Principal = Caller, c: Container = Depends(container)
) -> dict[str, Any]:
    return control_view(conversation_id, c.takeovers.release(who, conversation_id))
