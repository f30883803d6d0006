"""The 360dialog flavour (waba-v2.360dialog.io): ``D360-API-KEY`` auth, no phone-number id in paths.

Same numbers and rules underneath; rule violations come back in Meta's Graph error shape (360dialog
forwards Cloud API errors), a bad key as 360dialog's own 401 "Invalid api_key".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from wacoex.emulator.platform import graph_account, graph_api, send
from wacoex.emulator.platform import media as media_ops
from wacoex.emulator.platform.rules import invalid_parameter
from wacoex.emulator.platform.templates import template_json
from wacoex.emulator.world import Number, World

router = APIRouter(include_in_schema=False)


class InvalidApiKey(Exception):
    """No or unknown ``D360-API-KEY``."""


def invalid_key_response() -> Response:
    body = {"meta": {"success": False, "http_code": 401, "developer_message": "Invalid api_key"}}
    return JSONResponse(body, status_code=401)


def number_for_key(request: Request) -> tuple[World, Number] | None:
    world = graph_api.world_of(request)
    key = request.headers.get("d360-api-key")
    number = world.number_by_api_key(key) if key else None
    return None if number is None else (world, number)


@router.post("/messages")
async def post_message(request: Request) -> Response:
    found = number_for_key(request)
    if found is None:
        return invalid_key_response()
    _, number = found
    return JSONResponse(
        send.send_message(graph_api.runtime_of(request), number, await graph_api.json_body(request))
    )


@router.post("/media")
async def upload_media(request: Request) -> Response:
    found = number_for_key(request)
    if found is None:
        return invalid_key_response()
    world, number = found
    return JSONResponse(await graph_api._upload(request, world, number))


@router.post("/synchronization")
async def synchronization(request: Request) -> Response:
    found = number_for_key(request)
    if found is None:
        return invalid_key_response()
    _, number = found
    return JSONResponse(
        await graph_account.request_sync(
            graph_api.runtime_of(request), number, await graph_api.json_body(request)
        )
    )


@router.get("/v1/configs/webhook")
async def get_webhook(request: Request) -> Response:
    found = number_for_key(request)
    if found is None:
        return invalid_key_response()
    _, number = found
    return JSONResponse({"url": number.webhook_url, "headers": number.webhook_headers})


@router.post("/v1/configs/webhook")
async def set_webhook(request: Request) -> Response:
    found = number_for_key(request)
    if found is None:
        return invalid_key_response()
    _, number = found
    body = await graph_api.json_body(request)
    url = body.get("url")
    headers = body.get("headers") or {}
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise invalid_parameter("url must be an http(s) URL.")
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise invalid_parameter("headers must be an object of strings.")
    number.webhook_url, number.webhook_headers = url, dict(headers)
    return JSONResponse({"url": url, "headers": headers})


@router.get("/v1/configs/templates")
async def list_templates(request: Request) -> Response:
    found = number_for_key(request)
    if found is None:
        return invalid_key_response()
    world, number = found
    data: list[dict[str, Any]] = [
        template_json(t) for t in world.templates.values() if t.waba_id == number.waba_id
    ]
    return JSONResponse({"count": len(data), "total": len(data), "waba_templates": data})


@router.get("/{media_id}")
async def get_media(request: Request, media_id: str) -> Response:
    found = number_for_key(request)
    if found is None:
        return invalid_key_response()
    world, _ = found
    media = media_ops.live_media(world, media_id)
    return JSONResponse(media_ops.metadata(world, media, str(request.base_url)))


@router.delete("/{media_id}")
async def delete_media(request: Request, media_id: str) -> Response:
    found = number_for_key(request)
    if found is None:
        return invalid_key_response()
    world, _ = found
    media_ops.delete(world, media_id)
    return JSONResponse({"success": True})
