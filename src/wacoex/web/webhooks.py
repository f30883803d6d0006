"""Webhook ingress: verify, store the raw receipt durably, answer 200. Nothing else before the 200.

The hot path is `WebhookIngress`, a plain ASGI layer in front of FastAPI: a webhook POST costs one
read, one HMAC and one group-committed insert, without FastAPI's routing and dependency machinery
(measured: about a third of the CPU per request; docs/benchmarks.md). The FastAPI routes below do
the same through the same `authenticate()` and document the endpoints in OpenAPI.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from wacoex.bootstrap import Container
from wacoex.config import Settings
from wacoex.web.api.models import ErrorBody, WebhookAck
from wacoex.whatsapp.signature import verify_hmac_hex, verify_hub_signature

router = APIRouter(tags=["webhooks"])

_OK = b'{"status":"ok"}'
PATHS = {"/webhooks/whatsapp": "meta", "/webhooks/360dialog": "360dialog"}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def authenticate(source: str, body: bytes, headers: Mapping[str, str], s: Settings) -> tuple[int, str] | None:
    """None when the request is authentic, else (HTTP status, reason). Checked over the raw bytes.

    Meta: `X-Hub-Signature-256` with any configured app secret. 360dialog partner webhooks may be
    signed (`x-360dialog-signature`, HMAC-SHA256 with the platform secret); phone-number webhooks
    carry no signature, so a secret header configured with the URL is checked instead.
    """
    if source == "meta":
        header = headers.get("x-hub-signature-256")
        if not header:
            return 401, "missing X-Hub-Signature-256"
        if not verify_hub_signature(body, header, s.app_secrets):
            return 403, "X-Hub-Signature-256 does not match any configured app secret"
        return None
    signature = headers.get("x-360dialog-signature")
    header_secret = headers.get(s.dialog360_header_name.lower())
    hub = headers.get("x-hub-signature-256")
    if signature is not None:
        ok = verify_hmac_hex(body, signature, s.dialog360_webhook_secrets)
    elif header_secret is not None:
        ok = any(hmac.compare_digest(header_secret.encode(), x.encode()) for x in s.dialog360_header_secrets)
    elif hub is not None:
        ok = verify_hub_signature(body, hub, s.app_secrets)
    else:
        if s.dialog360_webhook_secrets or s.dialog360_header_secrets or not s.dev:
            return 401, f"missing x-360dialog-signature or {s.dialog360_header_name} header"
        ok = True
    return None if ok else (403, "360dialog webhook authentication failed")


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, orjson.dumps({"error": {"code": code, "message": message}})


async def accept(
    container: Container, source: str, body: bytes | None, headers: Mapping[str, str]
) -> tuple[int, bytes]:
    """Authenticate and durably store one webhook; (status, JSON body) to answer."""
    limit = container.settings.max_webhook_bytes
    if body is None:
        return _error(413, "payload_too_large", f"webhook bodies are limited to {limit} bytes")
    denied = authenticate(source, body, headers, container.settings)
    if denied is not None:
        return _error(denied[0], "unauthorized", denied[1])
    await container.writer.append(source, body)
    return 200, _OK


class WebhookIngress:
    """Answers webhook POSTs before FastAPI sees them; every other request goes to `app`."""

    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        source = PATHS.get(scope.get("path", "")) if scope["type"] == "http" else None
        if source is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await _read(receive, headers, self.container.settings.max_webhook_bytes)
        status, payload = await accept(self.container, source, body, headers)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


async def _read(receive: Receive, headers: Mapping[str, str], limit: int) -> bytes | None:
    """The whole body, or None once it is over `limit` (declared or actual)."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return bytes(chunks)
        chunks.extend(message.get("body", b""))
        if len(chunks) > limit:
            return None
        if not message.get("more_body", False):
            return bytes(chunks)


def _json_error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


_STORED = {"model": WebhookAck, "description": "the body is stored durably; it is applied later"}
_TOO_LARGE = _json_error("the body is over WACOEX_MAX_WEBHOOK_BYTES (declared or actual); nothing is stored")
_ANY_JSON = {
    "requestBody": {
        "required": True,
        "description": "the webhook body, stored as received (even when it is not JSON)",
        "content": {"application/json": {"schema": {}}},
    }
}


@router.get(
    "/webhooks/whatsapp",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "hub.challenge"},
        403: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "hub.mode is not subscribe or hub.verify_token is not WACOEX_VERIFY_TOKEN",
        },
    },
    openapi_extra={
        "parameters": [
            {"name": "hub.mode", "in": "query", "schema": {"type": "string"}},
            {"name": "hub.verify_token", "in": "query", "schema": {"type": "string"}},
            {"name": "hub.challenge", "in": "query", "schema": {"type": "string"}},
        ]
    },
)
async def verify_subscription(request: Request) -> Response:
    """Meta's subscription handshake: echo hub.challenge when hub.verify_token matches."""
    q = request.query_params
    c: Container = request.app.state.container
    token = q.get("hub.verify_token", "")
    if q.get("hub.mode") == "subscribe" and hmac.compare_digest(
        token.encode(), c.settings.verify_token.encode()
    ):
        return PlainTextResponse(q.get("hub.challenge", ""))
    return PlainTextResponse("verification failed", status_code=403)


async def _route(request: Request, source: str) -> Response:
    c: Container = request.app.state.container
    body = await _read(request.receive, request.headers, c.settings.max_webhook_bytes)
    status, payload = await accept(c, source, body, request.headers)
    return Response(payload, status_code=status, media_type="application/json")


@router.post(
    "/webhooks/whatsapp",
    response_model=WebhookAck,
    responses={
        200: _STORED,
        401: _json_error("no X-Hub-Signature-256 header; nothing is stored"),
        403: _json_error("X-Hub-Signature-256 matches no configured app secret; nothing is stored"),
        413: _TOO_LARGE,
    },
    openapi_extra={
        **_ANY_JSON,
        "parameters": [
            {
                "name": "X-Hub-Signature-256",
                "in": "header",
                "required": True,
                "description": "sha256=HMAC-SHA256 of the raw body with the app secret",
                "schema": {"type": "string"},
            }
        ],
    },
)
async def receive_meta(request: Request) -> Response:
    """Meta's webhooks (every field): signature over the raw bytes, durable receipt, then 200."""
    return await _route(request, "meta")


@router.post(
    "/webhooks/360dialog",
    response_model=WebhookAck,
    responses={
        200: _STORED,
        401: _json_error("no authentication header where one is required; nothing is stored"),
        403: _json_error("a signature or secret header that does not match; nothing is stored"),
        413: _TOO_LARGE,
    },
    openapi_extra={
        **_ANY_JSON,
        "parameters": [
            {
                "name": "x-360dialog-signature",
                "in": "header",
                "description": "partner webhooks: HMAC-SHA256 hex of the raw body with the platform secret",
                "schema": {"type": "string"},
            }
        ],
    },
)
async def receive_360dialog(request: Request) -> Response:
    """360dialog: partner webhooks ({id, event, data}) and phone-number webhooks (Meta's envelope)."""
    return await _route(request, "360dialog")
