"""360dialog's side of onboarding: Integrated Onboarding's channels and the Partner API (hub, /api/v2).

A number onboarded "through 360dialog" (``onboard``) runs the phone's Embedded Signup, becomes a
360dialog number and gets a client id (``…CL``) and a channel id (``…CH``); the partner webhook receives
``channel_created`` (first time) and ``channel_running`` as ``{id, event, data}``. Its ``D360-API-KEY``
comes only from the Partner API, as with 360dialog:

- ``POST /api/v2/token`` ``{username, password}`` -> ``{access_token, token_type: "Bearer", expires_in}``;
- every other call takes ``X-API-Key: <d360_partner_api_key>`` or ``Authorization: Bearer <token>``
  (401 otherwise) and the emulator's ``d360_partner_id`` in the path (403 "Permission denied for
  partner x" otherwise);
- ``GET /api/v2/partners/{partner_id}/channels`` -> ``{count, filters, limit, offset, sort, total,
  partner_channels[]}``;
- ``POST /api/v2/partners/{partner_id}/channels/{channel_id}/api_keys`` -> 201 ``{address, api_key,
  app_id, id}``; a new key revokes the channel's previous one.
"""

from __future__ import annotations

import datetime
import secrets
import string
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from wacoex.emulator.people import phone
from wacoex.emulator.people.customers import ActionError, require_number
from wacoex.emulator.platform.graph_api import json_body, runtime_of
from wacoex.emulator.runtime import Runtime
from wacoex.emulator.world import Number, World

router = APIRouter(prefix="/api/v2", include_in_schema=False)
Json = dict[str, Any]
TOKEN_TTL = 86_400
_ALPHABET = string.ascii_letters + string.digits


def _hub_id(world: World, suffix: str) -> str:
    """A 360dialog-style id: a few letters and digits, then CL (client), CH (channel), WA (WABA)."""
    return "".join(world.random.choice(_ALPHABET) for _ in range(6)) + suffix


def _iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def channel_status(number: Number) -> str:
    return "running" if number.can_send_via_api else "disconnected"


def channel_event_data(world: World, number: Number) -> Json:
    """The documented fields of a channel event's ``data``."""
    started = _iso(number.onboarded_at or world.clock.now())
    return {
        "id": number.d360_channel_id,
        "client_id": number.d360_client_id,
        "phone_number": "+" + number.display_phone_number,
        "phone_name": number.verified_name,
        "created_at": started,
        "billing_started_at": started,
        "fb_account_status": "verified",
        "status": channel_status(number),
        "account_mode": "live",
    }


def channel_json(world: World, number: Number) -> Json:
    """One ``partner_channels[]`` item: the channel, its client, its phone number and Meta's WABA id."""
    waba = world.wabas[number.waba_id]
    started = _iso(number.onboarded_at or world.clock.now())
    hub_waba = number.extra.setdefault("d360_waba_account_id", _hub_id(world, "WA"))
    return {
        "id": number.d360_channel_id,
        "client_id": number.d360_client_id,
        "phone_number": "+" + number.display_phone_number,
        "status": channel_status(number),
        "account_mode": "live",
        "created_at": started,
        "modified_at": started,
        "setup_info": {"phone_number": number.display_phone_number, "phone_name": number.verified_name},
        "waba_account": {"id": hub_waba, "external_id": waba.id, "name": waba.name},
    }


def onboard(rt: Runtime, phone_number_id: str, *, share_history: bool = True) -> Json:
    """Integrated Onboarding for a Business app number: the phone's Embedded Signup, then a 360dialog
    client and channel (no API key until the partner generates one)."""
    world = rt.world
    number = require_number(rt, phone_number_id)
    before = number.provider
    number.provider = "360dialog"  # so the onboarding's webhooks already route like 360dialog's
    try:
        result = phone.onboard(rt, phone_number_id, share_history=share_history)
    except ActionError:
        number.provider = before
        raise
    new_channel = number.d360_channel_id is None
    number.d360_client_id = number.d360_client_id or _hub_id(world, "CL")
    number.d360_channel_id = number.d360_channel_id or _hub_id(world, "CH")
    data = channel_event_data(world, number)
    if new_channel:
        rt.dispatcher.emit_partner(phone_number_id, "channel_created", data)
    rt.dispatcher.emit_partner(phone_number_id, "channel_running", data)
    return {
        **result,
        "provider": "360dialog",
        "partner_id": world.config.d360_partner_id,
        "client_id": number.d360_client_id,
        "channel_id": number.d360_channel_id,
    }


def connect_redirect(redirect_url: str, number: Number) -> str:
    """Integrated Onboarding's redirect: the partner's URL with ``client`` and ``channels``."""
    joiner = "&" if "?" in redirect_url else "?"
    return f"{redirect_url}{joiner}client={number.d360_client_id}&channels=[{number.d360_channel_id}]"


# ---- the Partner API ------------------------------------------------------------------------------


def _error(status: int, message: str) -> JSONResponse:
    body = {"meta": {"success": False, "http_code": status, "developer_message": message}}
    return JSONResponse(body, status_code=status)


def _authorised(request: Request, world: World) -> bool:
    key = request.headers.get("x-api-key")
    if key is not None:
        return secrets.compare_digest(key, world.config.d360_partner_api_key)
    header = request.headers.get("authorization", "")
    return header.lower().startswith("bearer ") and header[7:].strip() in world.d360_partner_tokens


def _check(request: Request, world: World, partner_id: str) -> JSONResponse | None:
    if not _authorised(request, world):
        return _error(401, "Unauthorized: send the partner API key in X-API-Key or a Bearer token")
    if partner_id != world.config.d360_partner_id:
        return _error(403, f"Permission denied for partner {partner_id}")
    return None


def _channels(world: World) -> list[Number]:
    return [n for n in world.numbers.values() if n.d360_channel_id is not None]


@router.post("/token")
async def token(request: Request) -> JSONResponse:
    world = runtime_of(request).world
    body = await json_body(request)
    username, password = str(body.get("username", "")), str(body.get("password", ""))
    valid = secrets.compare_digest(username, world.config.d360_partner_username) and secrets.compare_digest(
        password, world.config.d360_partner_password
    )
    if not valid:
        return _error(401, "Wrong username or password")
    access_token = secrets.token_urlsafe(32)
    world.d360_partner_tokens.add(access_token)
    return JSONResponse({"access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_TTL})


@router.get("/partners/{partner_id}/channels")
async def list_channels(request: Request, partner_id: str) -> JSONResponse:
    world = runtime_of(request).world
    refused = _check(request, world, partner_id)
    if refused is not None:
        return refused
    try:
        limit = int(request.query_params.get("limit", 1000))
        offset = int(request.query_params.get("offset", 0))
    except ValueError:
        return _error(400, "limit and offset must be integers")
    found = _channels(world)
    page = found[offset : offset + limit]
    return JSONResponse(
        {
            "count": len(page),
            "filters": {},
            "limit": limit,
            "offset": offset,
            "sort": ["id"],
            "total": len(found),
            "partner_channels": [channel_json(world, n) for n in page],
        }
    )


@router.post("/partners/{partner_id}/channels/{channel_id}/api_keys")
async def create_api_key(request: Request, partner_id: str, channel_id: str) -> JSONResponse:
    world = runtime_of(request).world
    refused = _check(request, world, partner_id)
    if refused is not None:
        return refused
    number = next((n for n in _channels(world) if n.d360_channel_id == channel_id), None)
    if number is None:
        return _error(404, f"Channel {channel_id} not found")
    number.d360_api_key = "".join(secrets.choice(_ALPHABET) for _ in range(31)) + "AK"
    key_id = str(world.random.randrange(10**5, 10**6))
    app_id = number.extra.setdefault("d360_app_id", str(world.random.randrange(10**5, 10**6)))
    body = {
        "address": str(request.base_url).rstrip("/"),
        "api_key": number.d360_api_key,
        "app_id": app_id,
        "id": key_id,
    }
    return JSONResponse(body, status_code=201)
