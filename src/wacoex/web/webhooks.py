"""Webhook ingress: verify, store the raw receipt durably, answer 200. Nothing else before the 200."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from wacoex.bootstrap import Container
from wacoex.whatsapp.signature import verify_hmac_hex, verify_hub_signature

router = APIRouter(tags=["webhooks"])

_OK = b'{"status":"ok"}'


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks = bytearray()
    async for chunk in request.stream():
        chunks.extend(chunk)
        if len(chunks) > limit:
            raise _TooLarge
    return bytes(chunks)


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "payload_too_large", "message": f"webhook bodies are limited to {limit} bytes"}},
        status_code=413,
    )


def _denied(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": "unauthorized", "message": message}}, status_code=status)


@router.get("/webhooks/whatsapp", response_class=PlainTextResponse)
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


@router.post("/webhooks/whatsapp")
async def receive_meta(request: Request) -> Response:
    c: Container = request.app.state.container
    limit = c.settings.max_webhook_bytes
    try:
        body = await _read_body(request, limit)
    except _TooLarge:
        return _too_large(limit)
    header = request.headers.get("x-hub-signature-256")
    if not header:
        return _denied(401, "missing X-Hub-Signature-256")
    if not verify_hub_signature(body, header, c.settings.app_secrets):
        return _denied(403, "X-Hub-Signature-256 does not match any configured app secret")
    await c.writer.append("meta", body)
    return Response(_OK, media_type="application/json")


@router.post("/webhooks/360dialog")
async def receive_360dialog(request: Request) -> Response:
    """360dialog: partner webhooks ({id, event, data}) and phone-number webhooks (Meta's envelope).

    Partner webhooks may be signed (`x-360dialog-signature`, HMAC-SHA256 with the platform secret);
    phone-number webhooks carry no signature, so a secret header configured with the URL is checked.
    """
    c: Container = request.app.state.container
    s = c.settings
    limit = s.max_webhook_bytes
    try:
        body = await _read_body(request, limit)
    except _TooLarge:
        return _too_large(limit)
    signature = request.headers.get("x-360dialog-signature")
    header_secret = request.headers.get(s.dialog360_header_name)
    hub = request.headers.get("x-hub-signature-256")
    if signature is not None:
        ok = verify_hmac_hex(body, signature, s.dialog360_webhook_secrets)
    elif header_secret is not None:
        ok = any(hmac.compare_digest(header_secret.encode(), x.encode()) for x in s.dialog360_header_secrets)
    elif hub is not None:
        ok = verify_hub_signature(body, hub, s.app_secrets)
    else:
        configured = s.dialog360_webhook_secrets or s.dialog360_header_secrets
        if configured or not s.dev:
            return _denied(401, f"missing x-360dialog-signature or {s.dialog360_header_name} header")
        ok = True
    if not ok:
        return _denied(403, "360dialog webhook authentication failed")
    await c.writer.append("360dialog", body)
    return Response(_OK, media_type="application/json")
