"""The send API: messages, sends, media upload, templates, takeover (docs/api.md, "Sending")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Header, UploadFile
from fastapi.responses import JSONResponse

from wacoex.bootstrap import Container
from wacoex.domain.access import Principal
from wacoex.domain.outbound import from_api
from wacoex.errors import InvalidInput
from wacoex.services.send import MEDIA_MAX_BYTES
from wacoex.services.send_port import SendRecord, SendState
from wacoex.services.takeover import ConversationControl
from wacoex.web.deps import Caller, container
from wacoex.web.errors import body as error_body

router = APIRouter(prefix="/api/v1", tags=["sending"])

IDEMPOTENCY_KEY_MAX = 255


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
        "created_at": rec.created_at,
        "sent_at": rec.sent_at,
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


def idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip() or len(value) > IDEMPOTENCY_KEY_MAX:
        raise InvalidInput(f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} characters")
    return value


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
    responses={
        202: {"description": "queued"},
        409: {"description": "refused by the rules"},
        504: {"description": "ambiguous: the outcome is unknown"},
    },
)
def send_message(
    phone_number_id: str,
    who: Principal = Caller,
    payload: Annotated[dict[str, Any], Body(openapi_examples=_EXAMPLES)] = ...,  # type: ignore[assignment]
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    c: Container = Depends(container),
) -> JSONResponse:
    queue = payload.pop("queue", False)
    if not isinstance(queue, bool):
        raise InvalidInput("queue must be true or false")
    out = from_api(payload)
    rec = c.sender.send(
        who, phone_number_id, out, route="api", idempotency_key=idempotency_key(key), queue=queue
    )
    return send_answer(rec)


@router.get("/sends/{send_id}", summary="A send: its state, wamid or error")
def get_send(send_id: int, who: Principal = Caller, c: Container = Depends(container)) -> dict[str, Any]:
    return send_view(c.sender.get(who, send_id))


@router.post("/numbers/{phone_number_id}/media", summary="Upload a file to send by its media id")
def upload_media(
    phone_number_id: str,
    who: Principal = Caller,
    file: UploadFile = File(...),
    c: Container = Depends(container),
) -> dict[str, str]:
    data = file.file.read(MEDIA_MAX_BYTES + 1)
    return {"id": c.sender.upload(who, phone_number_id, data, file.content_type, file.filename)}


@router.get("/numbers/{phone_number_id}/templates", summary="The number's message templates, as last synced")
def list_templates(
    phone_number_id: str, who: Principal = Caller, c: Container = Depends(container)
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


@router.post("/numbers/{phone_number_id}/templates/sync", summary="Fetch the templates from the provider now")
def sync_templates(
    phone_number_id: str, who: Principal = Caller, c: Container = Depends(container)
) -> dict[str, Any]:
    number = c.sender.number_for(who, phone_number_id)
    return {"synced": c.templates.sync(number)}


def control_view(conversation_id: int, control: ConversationControl) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "takeover": control.takeover.as_dict(),
        "window": control.window.as_dict(),
    }


@router.get("/conversations/{conversation_id}/control", summary="Who handles it now, and its window")
def conversation_control(
    conversation_id: int, who: Principal = Caller, c: Container = Depends(container)
) -> dict[str, Any]:
    return control_view(conversation_id, c.takeovers.state(who, conversation_id))


@router.post(
    "/conversations/{conversation_id}/takeover", summary="Take the conversation over (bots are refused)"
)
def take_over(
    conversation_id: int,
    who: Principal = Caller,
    minutes: Annotated[float | None, Body(embed=True)] = None,
    c: Container = Depends(container),
) -> dict[str, Any]:
    return control_view(conversation_id, c.takeovers.take(who, conversation_id, minutes))


@router.post("/conversations/{conversation_id}/release", summary="Hand the conversation back to the bots")
def release(
    conversation_id: int, who: Principal = Caller, c: Container = Depends(container)
) -> dict[str, Any]:
    return control_view(conversation_id, c.takeovers.release(who, conversation_id))
