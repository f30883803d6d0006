"""Meta's Graph API paths under ``/{version}/`` with ``Authorization: Bearer`` and Graph errors.

Messages, media, phone-number/WABA/business reads and the unknown-path catch-all (templates are in
templates.py, the business profile in business_profile.py); auth
helpers shared with graph_account.py (code exchange, subscriptions, syncs, refused calls).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from wacoex.emulator.platform import media as media_ops
from wacoex.emulator.platform import rules, send
from wacoex.emulator.platform.rules import GraphError, invalid_parameter, unknown_object
from wacoex.emulator.runtime import Runtime
from wacoex.emulator.world import Number, Waba, World

router = APIRouter(include_in_schema=False)
_VERSION = re.compile(r"^v\d+\.\d+$")


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def world_of(request: Request) -> World:
    return runtime_of(request).world


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


# -- routes -------------------------------------------------------------------------------------
@router.get(media_ops.DOWNLOAD_PATH)
async def download_media(request: Request, mid: str = "", ext: str = "", hash: str = "") -> Response:
    """The bytes behind a signed URL, for the same credentials as the API: a Graph bearer token
    allowed to see the media's number, or that number's 360dialog key."""
    world = world_of(request)
    key = request.headers.get("d360-api-key")
    keyed = world.number_by_api_key(key) if key is not None else None
    scope = bearer_scope(request, world) if keyed is None else None
    found = media_ops.resolve_download(world, mid, ext, hash)
    owner = None if found is None else world.numbers.get(found.phone_number_id)
    if owner is not None:
        if keyed is not None and keyed.phone_number_id != owner.phone_number_id:
            found = None
        if scope is not None and not _allowed(world, scope, owner.waba_id):
            found = None
    if found is None:
        return JSONResponse(
            {"error": {"message": "URL expired or media not found", "code": 404}}, status_code=404
        )
    return Response(found.data, media_type=found.mime_type)


@router.post("/{version}/{node}/messages")
async def post_message(request: Request, version: str, node: str) -> dict[str, Any]:
    _, number = number_for(request, version, node)
    if number.provider != "meta":
        raise unknown_object(node, "post")
    return send.send_message(runtime_of(request), number, await json_body(request))


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
    media = world.media.get(node)
    holder = None if media is None else world.numbers.get(media.phone_number_id)
    if media is not None and (holder is None or _allowed(world, scope, holder.waba_id)):
        found = media_ops.live_media(world, node)
        return media_ops.metadata(world, found, str(request.base_url))
    raise unknown_object(node)


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
