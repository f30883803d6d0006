"""The business profile of a number (about, address, description, email, vertical, websites, picture).

Graph ``GET``/``POST /{version}/{phone_number_id}/whatsapp_business_profile`` and 360dialog's
``GET``/``POST /whatsapp_business_profile`` (``D360-API-KEY``), as Meta and 360dialog document them:
reads answer ``{"data": [{...}]}`` with the ``fields`` asked for (every set field when none are);
updates change only the fields given, validated with Meta's limits, and answer ``{"success": true}``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from wacoex.emulator.platform import dialog360_api, graph_api
from wacoex.emulator.platform.rules import invalid_parameter
from wacoex.emulator.world import BusinessProfile

router = APIRouter(include_in_schema=False)

VERTICALS = frozenset(
    {
        "UNDEFINED",
        "OTHER",
        "AUTO",
        "BEAUTY",
        "APPAREL",
        "EDU",
        "ENTERTAIN",
        "EVENT_PLAN",
        "FINANCE",
        "GROCERY",
        "GOVT",
        "HOTEL",
        "HEALTH",
        "NONPROFIT",
        "PROF_SERVICES",
        "RETAIL",
        "TRAVEL",
        "RESTAURANT",
        "NOT_A_BIZ",
    }
)
FIELDS = ("about", "address", "description", "email", "profile_picture_url", "websites", "vertical")
_MAX_LENGTH = {"about": 139, "address": 256, "description": 512, "email": 128}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def profile_json(profile: BusinessProfile, wanted: str | None = None) -> dict[str, Any]:
    """One ``data[]`` item: the ``fields`` asked for (comma-separated), unset ones left out."""
    names = [f.strip() for f in wanted.split(",") if f.strip()] if wanted else list(FIELDS)
    unknown = [name for name in names if name not in FIELDS]
    if unknown:
        raise invalid_parameter(f"Tried accessing nonexisting field ({unknown[0]}) on node type (Profile)")
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(profile, name)
        if value:
            out[name] = value
    out["messaging_product"] = "whatsapp"
    return out


def update_profile(profile: BusinessProfile, body: dict[str, Any]) -> None:
    """Apply the fields of a POST, all validated before any changes (Graph error 100 otherwise)."""
    if body.get("messaging_product") != "whatsapp":
        raise invalid_parameter("The parameter messaging_product is required and must be 'whatsapp'.")
    changes: dict[str, Any] = {}
    for name, limit in _MAX_LENGTH.items():
        if name in body:
            value = body[name]
            if not isinstance(value, str) or len(value) > limit:
                raise invalid_parameter(f"Param {name} must be a string of at most {limit} characters.")
            changes[name] = value
    if changes.get("about") == "":
        raise invalid_parameter("Param about must be between 1 and 139 characters.")
    if changes.get("email") and not _EMAIL.match(changes["email"]):
        raise invalid_parameter("Param email must be a valid email address.")
    if "vertical" in body:
        if body["vertical"] not in VERTICALS:
            raise invalid_parameter(f"Param vertical must be one of {', '.join(sorted(VERTICALS))}.")
        changes["vertical"] = body["vertical"]
    if "websites" in body:
        websites = body["websites"]
        if (
            not isinstance(websites, list)
            or len(websites) > 2
            or not all(
                isinstance(w, str) and w.startswith(("http://", "https://")) and len(w) <= 256
                for w in websites
            )
        ):
            raise invalid_parameter(
                "Param websites must be at most 2 http:// or https:// URLs of at most 256 characters."
            )
        changes["websites"] = list(websites)
    if "profile_picture_handle" in body:
        handle = body["profile_picture_handle"]
        if not isinstance(handle, str) or not handle:
            raise invalid_parameter("Param profile_picture_handle must be an upload handle.")
        digest = hashlib.sha256(handle.encode()).hexdigest()[:32]
        changes["profile_picture_url"] = f"https://pps.whatsapp.net/v/t61.24694-24/{digest}_n.jpg"
    for name, value in changes.items():
        setattr(profile, name, value)


# -- Graph ---------------------------------------------------------------------------------------
@router.get("/{version}/{node}/whatsapp_business_profile")
async def read_profile(request: Request, version: str, node: str) -> dict[str, Any]:
    _, number = graph_api.number_for(request, version, node, "get")
    return {"data": [profile_json(number.business_profile, request.query_params.get("fields"))]}


@router.post("/{version}/{node}/whatsapp_business_profile")
async def post_profile(request: Request, version: str, node: str) -> dict[str, Any]:
    _, number = graph_api.number_for(request, version, node)
    update_profile(number.business_profile, await graph_api.json_body(request))
    return {"success": True}


# -- 360dialog -----------------------------------------------------------------------------------
@router.get("/whatsapp_business_profile")
async def read_profile_360(request: Request) -> Response:
    found = dialog360_api.number_for_key(request)
    if found is None:
        return dialog360_api.invalid_key_response()
    _, number = found
    return JSONResponse({"data": [profile_json(number.business_profile, request.query_params.get("fields"))]})


@router.post("/whatsapp_business_profile")
async def post_profile_360(request: Request) -> Response:
    found = dialog360_api.number_for_key(request)
    if found is None:
        return dialog360_api.invalid_key_response()
    _, number = found
    update_profile(number.business_profile, await graph_api.json_body(request))
    return JSONResponse({"success": True})
