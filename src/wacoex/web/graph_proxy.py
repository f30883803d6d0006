"""The Graph-compatible proxy: Cloud API clients send through wacoex by changing base URL and token.

`POST /graph/v{version}/{phone_number_id}/messages` (and the same without `/graph`, for clients
that only let you swap the host) takes the Cloud API body and answers the provider's response
unchanged; a read receipt (`"status": "read"`) is relayed as one. `.../media` uploads a file.
`.../smb_app_data` requests a one-shot sync through the gateway's guard (once per onboarding: a
repeat is answered 2593107 without calling Meta). The
bearer token is a wacoex API key, never the provider's token. Every send goes through the same rules
as the REST API, and every error answers in the Graph error shape, with the code Meta would have
answered for the same refusal (131047 for a closed window), so a client's error handling still works.
"""

from __future__ import annotations

import functools
import secrets
from typing import Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Header, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from wacoex.bootstrap import Container
from wacoex.domain.access import Principal
from wacoex.domain.onboarding import SyncState, sync_kind
from wacoex.domain.outbound import from_graph
from wacoex.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ProviderError,
    Refused,
    Unauthorized,
    WacoexError,
)
from wacoex.services.send import MEDIA_MAX_BYTES
from wacoex.services.send_port import SendRecord, SendState
from wacoex.web.deps import container, require_api_key

router = APIRouter(tags=["graph-compatible proxy"])
_bearer = HTTPBearer(auto_error=False, description="A wacoex API key (not the provider's token).")


class GraphFailure(Exception):
    """An error to answer in the Graph shape (the proxy's routes raise it, `install` answers it)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def graph_error(
    code: int,
    message: str,
    *,
    status: int = 400,
    details: str | None = None,
    type_: str = "OAuthException",
    subcode: int | None = None,
) -> GraphFailure:
    error: dict[str, Any] = {
        "message": f"(#{code}) {message}" if code not in (100, 190) else message,
        "type": type_,
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or message},
        "fbtrace_id": "wacoex" + secrets.token_hex(8),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return GraphFailure(status, {"error": error})


def from_wacoex(exc: WacoexError) -> GraphFailure:
    """Our error as Meta would have answered it."""
    if isinstance(exc, Refused):
        return graph_error(exc.graph_code or 131000, exc.message, details=exc.message)
    if isinstance(exc, Unauthorized):
        return graph_error(190, "Invalid OAuth access token - Cannot parse access token", status=401)
    if isinstance(exc, Forbidden):
        return graph_error(10, exc.message, status=403)
    if isinstance(exc, NotFound):
        return graph_error(
            100, f"Unsupported post request. {exc.message}", subcode=33, type_="GraphMethodException"
        )
    if isinstance(exc, Conflict):
        return graph_error(100, exc.message, status=409)
    if isinstance(exc, InvalidInput):
        return graph_error(100, f"Invalid parameter: {exc.message}", details=exc.message)
    if isinstance(exc, ProviderError):
        body = exc.details.get("body")
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return GraphFailure(exc.http_status or 502, body)
        return graph_error(exc.graph_code or 131000, exc.message, status=exc.http_status or 502)
    return graph_error(131000, exc.message or "Something went wrong", status=500)


def graph_caller(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Security(_bearer)
) -> Principal:
    try:
        return require_api_key(request, credentials)
    except WacoexError as exc:
        raise from_wacoex(exc) from exc


GraphCaller = Depends(graph_caller)


def answer(rec: SendRecord) -> JSONResponse:
    if rec.state is SendState.SENT and rec.response is not None:
        return JSONResponse(rec.response)
    if rec.state is SendState.AMBIGUOUS:
        raise graph_error(
            131000,
            "The provider did not answer in time",
            status=504,
            details=f"{rec.error_message} (wacoex send {rec.id})",
        )
    if rec.state in (SendState.QUEUED, SendState.SENDING):
        raise graph_error(
            131000, "The send is still in progress", status=409, details=f"wacoex send {rec.id}"
        )
    if isinstance(rec.response, dict) and isinstance(rec.response.get("error"), dict):
        raise GraphFailure(400, rec.response)
    code = rec.graph_code or (130429 if rec.error_code == "throttled" else 131000)
    raise graph_error(code, rec.error_message or "Message not sent", status=429 if code == 130429 else 400)


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise graph_error(100, "Invalid parameter", details="the body must be a JSON object")
    return data


async def messages(
    request: Request,
    phone_number_id: str,
    who: Principal = GraphCaller,
    key: str | None = Header(None, alias="Idempotency-Key"),
    c: Container = Depends(container),
) -> JSONResponse:
    body = await _json(request)
    try:
        if body.get("status") == "read":
            return JSONResponse(await run_in_threadpool(c.sender.mark_read, who, phone_number_id, body))
        out = from_graph(body)
        # The send blocks (pacing, the provider): off the event loop, like FastAPI's own sync routes.
        rec = await run_in_threadpool(
            functools.partial(c.sender.send, who, phone_number_id, out, route="graph", idempotency_key=key)
        )
    except WacoexError as exc:
        raise from_wacoex(exc) from exc
    return answer(rec)


async def media(
    request: Request,
    phone_number_id: str,
    who: Principal = GraphCaller,
    c: Container = Depends(container),
) -> dict[str, str]:
    """The Cloud API's upload form: `file`, `type` (its MIME type), `messaging_product`."""
    try:
        form = await request.form(max_part_size=MEDIA_MAX_BYTES + 1)
    except Exception as exc:  # not multipart, or a part too large: Meta's "invalid parameter"
        raise graph_error(100, "Invalid parameter", details=f"the upload is not a valid form: {exc}") from exc
    try:
        upload = form.get("file")
        if form.get("messaging_product", "whatsapp") != "whatsapp":
            raise graph_error(100, "Invalid parameter", details='messaging_product must be "whatsapp"')
        if upload is None or isinstance(upload, str):
            raise graph_error(100, "Invalid parameter", details="the form needs a `file` part")
        kind = form.get("type")
        data = await upload.read(MEDIA_MAX_BYTES + 1)
        mime = kind if isinstance(kind, str) else upload.content_type
        try:
            media_id = await run_in_threadpool(
                c.sender.upload, who, phone_number_id, data, mime, upload.filename
            )
        except WacoexError as exc:
            raise from_wacoex(exc) from exc
    finally:
        await form.close()  # its files are spooled to disk: close them now, not at garbage collection
    return {"id": media_id}


async def smb_app_data(
    request: Request,
    phone_number_id: str,
    who: Principal = GraphCaller,
    c: Container = Depends(container),
) -> dict[str, Any]:
    """A client's `smb_app_data` goes through the one-shot guard: once requested for this onboarding
    it is answered 2593107 here, without calling Meta (services/syncs.py)."""
    body = await _json(request)
    kind = sync_kind(str(body.get("sync_type", "")))
    if body.get("messaging_product") != "whatsapp" or kind is None or set(body) - _SYNC_KEYS:
        raise graph_error(
            100,
            "Invalid parameter",
            details="the body takes messaging_product 'whatsapp' and sync_type smb_app_state_sync or history",
        )
    try:
        view = await run_in_threadpool(c.syncs.request, who, phone_number_id, kind, force=False)
    except WacoexError as exc:
        raise from_wacoex(exc) from exc
    if view.effective is SyncState.REQUESTED:
        return {"messaging_product": "whatsapp", "request_id": view.request_id or ""}
    if view.effective is SyncState.UNCONFIRMED:
        raise graph_error(
            131000, "The provider did not answer in time", status=504, details=view.error_message
        )
    retry_later = view.effective is SyncState.PENDING  # certainly not received: may be asked again
    raise graph_error(
        view.error_code or 131000,
        view.error_message or "Synchronization request failed",
        status=503 if retry_later else 400,
    )


_SYNC_KEYS = frozenset({"messaging_product", "sync_type"})


for prefix in ("/graph/v{version}", "/v{version}"):
    router.add_api_route(
        f"{prefix}/{{phone_number_id}}/messages",
        messages,
        methods=["POST"],
        summary="Send (Cloud API body and answer)",
        include_in_schema=False,  # Meta's Cloud API reference is its contract, not our document
    )
    router.add_api_route(
        f"{prefix}/{{phone_number_id}}/smb_app_data",
        smb_app_data,
        methods=["POST"],
        summary="Request a one-shot sync (Cloud API body and answer)",
        include_in_schema=False,
    )
    router.add_api_route(
        f"{prefix}/{{phone_number_id}}/media",
        media,
        methods=["POST"],
        summary="Upload media (Cloud API form)",
        include_in_schema=False,  # Meta's Cloud API reference is its contract, not our document
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(GraphFailure)
    async def _graph(_request: Request, exc: GraphFailure) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status)

    app.include_router(router)
