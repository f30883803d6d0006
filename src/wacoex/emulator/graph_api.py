"""Meta's Graph API paths under ``/{version}/`` with ``Authorization: Bearer`` and Graph errors.

Messages, media, phone-number and WABA reads, subscribed_apps (with the override handshake), the
Embedded Signup code exchange, ``smb_app_data`` (the coexistence syncs), templates, and the calls
coexistence numbers must refuse (register, deregister, official business account, verification).
"""

from __future__ import annotations

import random
import re
import secrets
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from wacoex.emulator import media as media_ops
from wacoex.emulator import rules, send
from wacoex.emulator.clock import maybe_await
from wacoex.emulator.rules import GraphError, invalid_parameter, unknown_object
from wacoex.emulator.world import Number, Waba, World

router = APIRouter(include_in_schema=False)
_VERSION = re.compile(r"^v\d+\.\d+$")
SYNC_TYPES = ("smb_app_state_sync", "history")


def world_of(request: Request) -> World:
    world: World = request.app.state.world
    return world


def install_error_handlers(app: FastAPI) -> None:
    async def on_graph_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GraphError)
        return JSONResponse(
            exc.to_json(),
            status_code=exc.http_status,
            headers={"www-authenticate": "OAuth"} if exc.http_status == 401 else None,
        )

    app.add_exception_handler(GraphError, on_graph_error)


# -- auth and lookups ---------------------------------------------------------------------------
def bearer_scope(request: Request, world: World) -> tuple[bool, str | None]:
    """(is app-wide token, business id the token is scoped to); raises 190 on a bad token."""
    header = request.headers.get("authorization", "")
    token = (
        header[7:].strip()
        if header.lower().startswith("bearer ")
        else request.query_params.get("access_token")
    )
    if not token or token not in world.tokens:
        raise rules.invalid_token()
    business_id = world.tokens[token]
    return business_id is None, business_id


def _check_version(version: str) -> None:
    if not _VERSION.match(version):
        raise GraphError(
            2500,
            "Unknown path components",
            f"Unknown path components: /{version}",
            message=f"Unknown path components: /{version}",
        )


def _allowed(world: World, scope: tuple[bool, str | None], waba_id: str) -> bool:
    wide, business_id = scope
    return wide or world.wabas[waba_id].business_id == business_id


def number_for(request: Request, version: str, node: str, method: str = "post") -> tuple[World, Number]:
    world = world_of(request)
    _check_version(version)
    scope = bearer_scope(request, world)
    number = world.numbers.get(node)
    if number is None or not _allowed(world, scope, number.waba_id):
        raise unknown_object(node, method)
    return world, number


def waba_for(request: Request, version: str, node: str, method: str = "get") -> tuple[World, Waba]:
    world = world_of(request)
    _check_version(version)
    scope = bearer_scope(request, world)
    waba = world.wabas.get(node)
    if waba is None or not _allowed(world, scope, waba.id):
        raise unknown_object(node, method)
    return world, waba


async def json_body(request: Request) -> dict[str, Any]:
    """JSON, form or query parameters, as Graph accepts all three."""
    content_type = request.headers.get("content-type", "")
    body: dict[str, Any] = dict(request.query_params)
    body.pop("access_token", None)
    if "json" in content_type:
        try:
            parsed = await request.json()
        except ValueError as exc:
            raise invalid_parameter("The request body is not valid JSON.") from exc
        if not isinstance(parsed, dict):
            raise invalid_parameter("The request body must be a JSON object.")
        body.update(parsed)
    elif "form" in content_type:
        async with request.form() as form:
            body.update({k: v for k, v in form.items() if isinstance(v, str)})
    return body


def format_display(number: Number) -> str:
    cc = number.country_calling_code
    rest = number.display_phone_number[len(cc) :]
    if len(rest) == 10:
        return f"+{cc} {rest[:3]}-{rest[3:6]}-{rest[6:]}"
    return f"+{cc} {rest}"


def tier_name(limit: int | None) -> str:
    if limit is None:
        return "TIER_UNLIMITED"
    return f"TIER_{limit // 1000}K" if limit >= 1000 else f"TIER_{limit}"


def number_fields(world: World, number: Number) -> dict[str, Any]:
    waba = world.wabas[number.waba_id]
    business = world.businesses[waba.business_id]
    webhook: dict[str, Any] = {"application": world.config.webhook_url}
    if waba.override_callback_uri:
        webhook["whatsapp_business_account"] = waba.override_callback_uri
    if number.webhook_url:
        webhook["phone_number"] = number.webhook_url
    return {
        "id": number.phone_number_id,
        "display_phone_number": format_display(number),
        "verified_name": number.verified_name,
        "quality_rating": number.quality,
        "code_verification_status": "VERIFIED",
        "name_status": "APPROVED",
        "platform_type": number.platform_type,
        "is_on_biz_app": number.on_biz_app,
        "throughput": {"level": "STANDARD"},
        "status": "CONNECTED" if number.can_send_via_api else "DISCONNECTED",
        "account_mode": "LIVE",
        "is_official_business_account": number.official_business_account,
        "messaging_limit_tier": tier_name(business.messaging_limit),
        "whatsapp_business_manager_messaging_limit": tier_name(business.messaging_limit),
        "last_onboarded_time": None if number.onboarded_at is None else int(number.onboarded_at),
        "webhook_configuration": webhook,
    }


DEFAULT_NUMBER_FIELDS = (
    "verified_name",
    "code_verification_status",
    "display_phone_number",
    "quality_rating",
    "platform_type",
    "throughput",
    "id",
)


def pick(fields: dict[str, Any], wanted: str | None, default: tuple[str, ...]) -> dict[str, Any]:
    names = [f.strip() for f in wanted.split(",")] if wanted else list(default)
    out = {name: fields[name] for name in names if name in fields and fields[name] is not None}
    out["id"] = fields["id"]
    return out


async def verify_callback(world: World, url: str, verify_token: str) -> None:
    """Meta's GET handshake: the endpoint must answer 200 with the challenge."""
    challenge = str(random.SystemRandom().randrange(10**9, 10**10))
    params = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token}
    try:
        response = await world.dispatcher.http().get(url, params=params, timeout=10.0)
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


# -- routes -------------------------------------------------------------------------------------
@router.get(media_ops.DOWNLOAD_PATH)
async def download_media(request: Request, mid: str = "", ext: str = "", hash: str = "") -> Response:
    world = world_of(request)
    key = request.headers.get("d360-api-key")
    if key is None or world.number_by_api_key(key) is None:
        bearer_scope(request, world)
    found = media_ops.resolve_download(world, mid, ext, hash)
    if found is None:
        return JSONResponse(
            {"error": {"message": "URL expired or media not found", "code": 404}}, status_code=404
        )
    return Response(found.data, media_type=found.mime_type)


@router.get("/{version}/oauth/access_token")
async def oauth_access_token(request: Request, version: str) -> dict[str, Any]:
    world = world_of(request)
    _check_version(version)
    params = request.query_params
    if params.get("client_id") != world.config.app_id:
        raise GraphError(
            101,
            "Error validating application. Invalid application ID.",
            message="Error validating application. Invalid application ID.",
        )
    if params.get("client_secret") != world.config.app_secret:
        raise GraphError(1, "Error validating client secret.", message="Error validating client secret.")
    code = world.oauth_codes.get(params.get("code", ""))
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
    if world.clock.now() > code.created_at + world.config.oauth_code_ttl:
        raise GraphError(
            100,
            "This authorization code has expired.",
            subcode=36007,
            message="This authorization code has expired.",
        )
    code.used = True
    token = "EAA" + secrets.token_urlsafe(32)
    world.tokens[token] = code.business_id
    return {"access_token": token, "token_type": "bearer"}


@router.post("/{version}/{node}/messages")
async def post_message(request: Request, version: str, node: str) -> dict[str, Any]:
    world, number = number_for(request, version, node)
    if number.provider != "meta":
        raise unknown_object(node, "post")
    return send.send_message(world, number, await json_body(request))


@router.post("/{version}/{node}/media")
async def upload_media(request: Request, version: str, node: str) -> dict[str, Any]:
    world, number = number_for(request, version, node)
    return await _upload(request, world, number)


async def _upload(request: Request, world: World, number: Number) -> dict[str, Any]:
    async with request.form() as form:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise invalid_parameter("The parameter file is required.")
        if form.get("messaging_product") != "whatsapp":
            raise invalid_parameter("The parameter messaging_product is required and must be 'whatsapp'.")
        mime = str(form.get("type") or upload.content_type or "application/octet-stream")
        data = await upload.read()
        found = media_ops.upload(world, number.phone_number_id, data, mime, upload.filename)
    return {"id": found.id}


@router.post("/{version}/{node}/smb_app_data")
async def smb_app_data(request: Request, version: str, node: str) -> dict[str, Any]:
    world, number = number_for(request, version, node)
    return await request_sync(world, number, await json_body(request))


async def request_sync(world: World, number: Number, body: dict[str, Any]) -> dict[str, Any]:
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
    if world.clock.now() > number.onboarded_at + world.config.sync_window_seconds:
        raise GraphError(
            2593108,
            "Synchronization request outside allowed window",
            "Synchronization request can only be made within 24 hours of onboarding",
        )
    number.sync_done.add(sync_type)
    request_id = secrets.token_hex(12)
    await _start_sync(world, number, sync_type)
    return {"messaging_product": "whatsapp", "request_id": request_id}


async def _start_sync(world: World, number: Number, sync_type: str) -> None:
    module_name, function = (
        ("wacoex.emulator.phone", "start_contact_sync")
        if sync_type == "smb_app_state_sync"
        else ("wacoex.emulator.history_export", "start_history_sync")
    )
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return
        raise
    hook = getattr(module, function, None)
    if hook is not None:
        await maybe_await(hook(world, number))


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


@router.get("/{version}/{node}/phone_numbers")
async def phone_numbers(request: Request, version: str, node: str) -> dict[str, Any]:
    world, waba = waba_for(request, version, node)
    wanted = request.query_params.get("fields")
    default = (
        "verified_name",
        "code_verification_status",
        "display_phone_number",
        "quality_rating",
        "platform_type",
        "throughput",
        "is_on_biz_app",
        "id",
    )
    data = [pick(number_fields(world, world.numbers[p]), wanted, default) for p in waba.phone_number_ids]
    return {"data": data, "paging": {"cursors": {"before": "", "after": ""}}}


@router.post("/{version}/{node}/subscribed_apps")
async def subscribe_app(request: Request, version: str, node: str) -> dict[str, Any]:
    world, waba = waba_for(request, version, node, "post")
    body = await json_body(request)
    uri, token = body.get("override_callback_uri"), body.get("verify_token")
    if uri:
        if not token:
            raise invalid_parameter("verify_token is required with override_callback_uri.")
        await verify_callback(world, str(uri), str(token))
        waba.override_callback_uri, waba.verify_token = str(uri), str(token)
    waba.subscribed = True
    if uri:
        return {
            "success": True,
            "data": [
                {
                    "override_callback_uri": waba.override_callback_uri,
                    "whatsapp_business_api_data": _app_data(world),
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


@router.get("/{version}/{node}/message_templates")
async def list_templates(request: Request, version: str, node: str) -> dict[str, Any]:
    world, waba = waba_for(request, version, node)
    q = request.query_params
    data = [
        template_json(t)
        for t in world.templates.values()
        if t.waba_id == waba.id
        and q.get("name") in (None, t.name)
        and q.get("status") in (None, t.status)
        and q.get("language") in (None, t.language)
        and (q.get("category") is None or q["category"].upper() == t.category)
    ]
    return {"data": data, "paging": {"cursors": {"before": "", "after": ""}}}


def template_json(t: Any) -> dict[str, Any]:
    return {
        "name": t.name,
        "language": t.language,
        "status": t.status,
        "category": t.category,
        "components": t.components,
        "id": t.id,
    }


@router.post("/{version}/{node}/message_templates")
async def create_template(request: Request, version: str, node: str) -> dict[str, Any]:
    world, waba = waba_for(request, version, node, "post")
    body = await json_body(request)
    name, language, category = body.get("name"), body.get("language"), str(body.get("category", "")).upper()
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,512}", name):
        raise invalid_parameter("name must be lowercase letters, digits and underscores.")
    if not isinstance(language, str) or not language:
        raise invalid_parameter("The parameter language is required.")
    if category not in ("MARKETING", "UTILITY", "AUTHENTICATION"):
        raise invalid_parameter("category must be MARKETING, UTILITY or AUTHENTICATION.")
    if (waba.id, name, language) in world.templates:
        raise GraphError(
            100, "Invalid parameter", "Content in this language already exists.", subcode=2388024
        )
    components = body.get("components") if isinstance(body.get("components"), list) else []
    review = world.config.template_review_seconds
    template = world.add_template(
        waba.id,
        name,
        language,
        category,
        components=components,
        status="PENDING" if review > 0 else "APPROVED",
    )
    if review > 0:

        def approve() -> None:
            template.status = "APPROVED"
            world.dispatcher.emit_waba(
                waba.id,
                "message_template_status_update",
                {
                    "event": "APPROVED",
                    "message_template_id": int(template.id),
                    "message_template_name": name,
                    "message_template_language": language,
                    "reason": "NONE",
                },
            )

        world.clock.call_later(review, approve)
    return {"id": template.id, "status": template.status, "category": category}


@router.get("/{version}/{node}")
async def get_node(request: Request, version: str, node: str) -> dict[str, Any]:
    world = world_of(request)
    _check_version(version)
    scope = bearer_scope(request, world)
    wanted = request.query_params.get("fields")
    number = world.numbers.get(node)
    if number is not None and _allowed(world, scope, number.waba_id):
        return pick(number_fields(world, number), wanted, DEFAULT_NUMBER_FIELDS)
    waba = world.wabas.get(node)
    if waba is not None and _allowed(world, scope, waba.id):
        business = world.businesses[waba.business_id]
        fields = {
            "id": waba.id,
            "name": waba.name,
            "currency": waba.currency,
            "timezone_id": "1",
            "message_template_namespace": f"ns_{waba.id}",
            "account_review_status": "APPROVED",
            "owner_business_info": {"id": business.id, "name": business.name},
        }
        return pick(fields, wanted, ("id", "name", "currency", "timezone_id", "message_template_namespace"))
    owner = world.businesses.get(node)
    if owner is not None and (scope[0] or scope[1] == owner.id):
        return pick({"id": owner.id, "name": owner.name}, wanted, ("id", "name"))
    if node in world.media:
        found = media_ops.live_media(world, node)
        return media_ops.metadata(world, found)
    raise unknown_object(node)


@router.post("/{version}/{node}")
async def update_node(request: Request, version: str, node: str) -> dict[str, Any]:
    world, number = number_for(request, version, node)
    body = await json_body(request)
    config = body.get("webhook_configuration")
    if not isinstance(config, dict):
        raise invalid_parameter("Only webhook_configuration can be updated on a phone number here.")
    uri, token = config.get("override_callback_uri"), config.get("verify_token")
    if uri:
        if not token:
            raise invalid_parameter("verify_token is required with override_callback_uri.")
        await verify_callback(world, str(uri), str(token))
        number.webhook_url, number.webhook_verify_token = str(uri), str(token)
    else:
        number.webhook_url = number.webhook_verify_token = None
    return {"success": True}


@router.delete("/{version}/{node}")
async def delete_node(request: Request, version: str, node: str) -> dict[str, Any]:
    world = world_of(request)
    _check_version(version)
    bearer_scope(request, world)
    media_ops.delete(world, node)
    return {"success": True}


@router.api_route("/{version}/{rest:path}", methods=["GET", "POST", "DELETE", "PUT"])
async def unknown_path(request: Request, version: str, rest: str) -> Response:
    text = f"Unknown path components: /{rest}"
    raise GraphError(2500, "Unknown path components", text, message=text)
