"""Graph account and onboarding routes: code exchange, subscribed_apps and webhook overrides (with the
verification handshake), ``smb_app_data`` (the coexistence syncs), and the calls coexistence numbers
refuse (register, deregister, official business account, business and phone verification).
"""

from __future__ import annotations

import random
import re
import secrets
from typing import Any

import httpx
from fastapi import APIRouter, Request

from wacoex.emulator.clock import maybe_await
from wacoex.emulator.people import phone
from wacoex.emulator.platform import history_export, rules
from wacoex.emulator.platform.graph_api import _check_version, json_body, number_for, runtime_of, waba_for
from wacoex.emulator.platform.rules import GraphError, invalid_parameter
from wacoex.emulator.runtime import Runtime
from wacoex.emulator.world import Number, World

router = APIRouter(include_in_schema=False)
SYNC_TYPES = ("smb_app_state_sync", "history")


async def verify_callback(rt: Runtime, url: str, verify_token: str) -> None:
    """Meta's GET handshake: the endpoint must answer 200 with the challenge."""
    challenge = str(random.SystemRandom().randrange(10**9, 10**10))
    params = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token}
    try:
        response = await rt.dispatcher.http().get(url, params=params, timeout=10.0)
    except httpx.HTTPError as exc:
        raise GraphError(
            2200, "Callback verification failed", f"Callback verification failed: {type(exc).__name__}: {exc}"
        ) from exc
    if response.status_code != 200 or response.text.strip() != challenge:
        raise GraphError(
            2200,
            "Callback verification failed",
            "Callback verification failed with the following errors: "
            f"HTTP Status Code = {response.status_code}; the response did not echo hub.challenge",
        )


@router.get("/{version}/oauth/access_token")
async def oauth_access_token(request: Request, version: str) -> dict[str, Any]:
    rt = runtime_of(request)
    _check_version(version)
    params = request.query_params
    if params.get("client_id") != rt.world.config.app_id:
        raise GraphError(
            101,
            "Error validating application. Invalid application ID.",
            message="Error validating application. Invalid application ID.",
        )
    if params.get("client_secret") != rt.world.config.app_secret:
        raise GraphError(1, "Error validating client secret.", message="Error validating client secret.")
    code = rt.world.oauth_codes.get(params.get("code", ""))
    if code is None:
        raise GraphError(
            100,
            "Invalid verification code format.",
            subcode=36008,
            message="Invalid verification code format.",
        )
    if code.used:
        raise GraphError(
            100,
            "This authorization code has been used.",
            subcode=36009,
            message="This authorization code has been used.",
        )
    if rt.world.clock.now() > code.created_at + rt.world.config.oauth_code_ttl:
        raise GraphError(
            100,
            "This authorization code has expired.",
            subcode=36007,
            message="This authorization code has expired.",
        )
    code.used = True
    token = "EAA" + secrets.token_urlsafe(32)
    rt.world.tokens[token] = code.business_id
    return {"access_token": token, "token_type": "bearer"}


@router.post("/{version}/{node}/smb_app_data")
async def smb_app_data(request: Request, version: str, node: str) -> dict[str, Any]:
    _, number = number_for(request, version, node)
    rt = runtime_of(request)
    return await request_sync(rt, number, await json_body(request))


async def request_sync(rt: Runtime, number: Number, body: dict[str, Any]) -> dict[str, Any]:
    """Coexistence contacts/history sync: once per type (2593107), within 24 h of onboarding (2593108)."""
    extra = set(body) - {"messaging_product", "sync_type"}
    if body.get("messaging_product") != "whatsapp" or extra:
        raise invalid_parameter("The body takes exactly messaging_product ('whatsapp') and sync_type.")
    sync_type = body.get("sync_type")
    if sync_type not in SYNC_TYPES:
        raise invalid_parameter(f"sync_type must be one of {', '.join(SYNC_TYPES)}.")
    if not number.coexistence or number.state != "CONNECTED" or number.onboarded_at is None:
        raise invalid_parameter(
            "This phone number is not onboarded from the WhatsApp Business app (coexistence)."
        )
    if sync_type in number.sync_done:
        raise GraphError(
            2593107,
            "Synchronization API call limit exceeded",
            "You have exceeded the maximum number of times to call the synchronization api for this "
            "phone number.",
        )
    if rt.world.clock.now() > number.onboarded_at + rt.world.config.sync_window_seconds:
        raise GraphError(
            2593108,
            "Synchronization request outside allowed window",
            "Synchronization request can only be made within 24 hours of onboarding",
        )
    number.sync_done.add(sync_type)
    request_id = secrets.token_hex(12)
    await _start_sync(rt, number, sync_type)
    return {"messaging_product": "whatsapp", "request_id": request_id}


async def _start_sync(rt: Runtime, number: Number, sync_type: str) -> None:
    if sync_type == "smb_app_state_sync":
        phone.start_contact_sync(rt, number)
    else:
        await maybe_await(history_export.start_history_sync(rt, number))


def _refuse_if_coexistence(number: Number, action: str) -> None:
    if number.on_biz_app:
        raise rules.coexistence_refused(action)


@router.post("/{version}/{node}/register")
async def register(request: Request, version: str, node: str) -> dict[str, Any]:
    _world, number = number_for(request, version, node)
    _refuse_if_coexistence(
        number, "Registering (the number is already registered with the WhatsApp Business app)"
    )
    body = await json_body(request)
    if body.get("messaging_product") != "whatsapp" or not re.fullmatch(r"\d{6}", str(body.get("pin", ""))):
        raise invalid_parameter("register takes messaging_product 'whatsapp' and a 6-digit pin.")
    number.platform_type = "CLOUD_API"
    number.state = "API_ONLY"
    return {"success": True}


@router.post("/{version}/{node}/deregister")
async def deregister(request: Request, version: str, node: str) -> dict[str, Any]:
    _world, number = number_for(request, version, node)
    _refuse_if_coexistence(number, "The Deregister API (offboard from the WhatsApp Business app instead)")
    number.platform_type = "NOT_APPLICABLE"
    return {"success": True}


@router.post("/{version}/{node}/official_business_account")
async def official_business_account(request: Request, version: str, node: str) -> dict[str, Any]:
    _world, number = number_for(request, version, node)
    _refuse_if_coexistence(number, "Official Business Account (OBA) requests")
    number.official_business_account = True
    return {"success": True}


@router.post("/{version}/{node}/business_verification")
async def business_verification(request: Request, version: str, node: str) -> dict[str, Any]:
    _world, number = number_for(request, version, node)
    _refuse_if_coexistence(number, "Standard business verification")
    return {"success": True}


@router.post("/{version}/{node}/request_code")
@router.post("/{version}/{node}/verify_code")
async def phone_verification(request: Request, version: str, node: str) -> dict[str, Any]:
    _world, number = number_for(request, version, node)
    _refuse_if_coexistence(
        number, "Phone number verification (the number is verified in the WhatsApp Business app)"
    )
    return {"success": True}


@router.post("/{version}/{node}/subscribed_apps")
async def subscribe_app(request: Request, version: str, node: str) -> dict[str, Any]:
    _, waba = waba_for(request, version, node, "post")
    rt = runtime_of(request)
    body = await json_body(request)
    uri, token = body.get("override_callback_uri"), body.get("verify_token")
    if uri:
        if not token:
            raise invalid_parameter("verify_token is required with override_callback_uri.")
        await verify_callback(rt, str(uri), str(token))
        waba.override_callback_uri, waba.verify_token = str(uri), str(token)
    waba.subscribed = True
    if uri:
        return {
            "success": True,
            "data": [
                {
                    "override_callback_uri": waba.override_callback_uri,
                    "whatsapp_business_api_data": _app_data(rt.world),
                }
            ],
        }
    return {"success": True}


def _app_data(world: World) -> dict[str, str]:
    app_id = world.config.app_id
    return {
        "id": app_id,
        "name": world.config.app_name,
        "link": f"https://www.facebook.com/games/?app_id={app_id}",
    }


@router.get("/{version}/{node}/subscribed_apps")
async def list_subscribed_apps(request: Request, version: str, node: str) -> dict[str, Any]:
    world, waba = waba_for(request, version, node)
    if not waba.subscribed:
        return {"data": []}
    item: dict[str, Any] = {"whatsapp_business_api_data": _app_data(world)}
    if waba.override_callback_uri:
        item["override_callback_uri"] = waba.override_callback_uri
    return {"data": [item]}


@router.delete("/{version}/{node}/subscribed_apps")
async def unsubscribe_app(request: Request, version: str, node: str) -> dict[str, Any]:
    _world, waba = waba_for(request, version, node, "delete")
    waba.subscribed = False
    waba.override_callback_uri = waba.verify_token = None
    return {"success": True}


@router.post("/{version}/{node}")
async def update_node(request: Request, version: str, node: str) -> dict[str, Any]:
    _, number = number_for(request, version, node)
    rt = runtime_of(request)
    body = await json_body(request)
    config = body.get("webhook_configuration")
    if not isinstance(config, dict):
        raise invalid_parameter("Only webhook_configuration can be updated on a phone number here.")
    uri, token = config.get("override_callback_uri"), config.get("verify_token")
    if uri:
        if not token:
            raise invalid_parameter("verify_token is required with override_callback_uri.")
        await verify_callback(rt, str(uri), str(token))
        number.webhook_url, number.webhook_verify_token = str(uri), str(token)
    else:
        number.webhook_url = number.webhook_verify_token = None
    return {"success": True}
