"""A stand-in for Meta's JavaScript SDK and the Embedded Signup popup, for the coexistence flow.

``GET /_emulator/es/sdk.js`` defines ``window.FB`` (``init``, ``login``) and calls ``fbAsyncInit``;
``FB.login`` opens ``/_emulator/es/dialog?app_id=&config_id=&options=<JSON>`` in a popup. The dialog
checks the launch (the emulator's ``app_id``, ``es_config_id`` when set, ``response_type: "code"`` with
``override_default_response_type``, and ``extras.featureType: "whatsapp_business_app_onboarding"`` with
``sessionInfoVersion`` "2"/"3" or ``extras.features: [{"name": "whatsapp_business_app_onboarding"}]``),
asks for the business phone number and "Share chats", and on Connect posts to
``/_emulator/es/complete``, which runs the phone's onboarding. The page then posts the session-info
event and the login result to ``window.opener`` (see embedded_signup_assets.py) and closes itself.
"""

from __future__ import annotations

import html
import json
from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from wacoex.emulator.control.embedded_signup_assets import DIALOG_HTML, SDK_JS
from wacoex.emulator.people import phone
from wacoex.emulator.people.customers import ActionError
from wacoex.emulator.platform.graph_api import runtime_of
from wacoex.emulator.world import World

router = APIRouter(prefix="/_emulator/es", tags=["embedded signup"])
COEX_FEATURE = "whatsapp_business_app_onboarding"
STEP = "PHONE_NUMBER_SETUP"
Payload = dict[str, Any]


class LaunchError(ValueError):
    """FB.login was launched in a way Embedded Signup for coexistence refuses."""


def _script_json(value: Any) -> str:
    return json.dumps(value).replace("<", "\\u003c")


def origin_of(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def check_app(world: World, app_id: str, config_id: str) -> None:
    if app_id != world.config.app_id:
        raise LaunchError(f"Invalid App ID: {app_id or '(none)'} is not this app ({world.config.app_id}).")
    wanted = world.config.es_config_id
    if wanted is not None and config_id != wanted:
        raise LaunchError(
            f"Invalid configuration ID: {config_id or '(none)'} is not this app's Embedded Signup "
            "configuration."
        )


def check_launch(world: World, app_id: str, config_id: str, raw_options: str) -> str:
    """Validate one FB.login launch; returns the session-info version ("2" or "3")."""
    check_app(world, app_id, config_id)
    try:
        options = json.loads(raw_options or "{}")
    except ValueError as exc:
        raise LaunchError("The login options are not valid JSON.") from exc
    if not isinstance(options, dict):
        raise LaunchError("The login options must be an object.")
    if options.get("response_type") != "code" or options.get("override_default_response_type") is not True:
        raise LaunchError(
            'Embedded Signup needs response_type "code" with override_default_response_type true.'
        )
    extras = options.get("extras")
    extras = extras if isinstance(extras, dict) else {}
    features = extras.get("features")
    if isinstance(features, list) and any(
        isinstance(f, dict) and f.get("name") == COEX_FEATURE for f in features
    ):
        return "3"
    if extras.get("featureType") == COEX_FEATURE:
        version = str(extras.get("sessionInfoVersion", ""))
        if version in ("2", "3"):
            return version
        if extras.get("version") in ("v3", "v4"):
            return "3"
        raise LaunchError('Coexistence onboarding needs extras.sessionInfoVersion "2" or "3".')
    raise LaunchError(
        f'This emulator runs only the WhatsApp Business app onboarding: extras.featureType "{COEX_FEATURE}" '
        f'or extras.features [{{"name": "{COEX_FEATURE}"}}].'
    )


@router.get("/sdk.js")
async def sdk_js(request: Request) -> Response:
    """Meta's SDK stand-in: ``window.FB`` for this emulator's origin and app id."""
    world = runtime_of(request).world
    config = {"origin": origin_of(request), "appId": world.config.app_id}
    body = SDK_JS.replace("__CONFIG__", _script_json(config))
    return Response(body, media_type="application/javascript")


@router.get("/dialog")
async def dialog(
    request: Request,
    app_id: str = Query(""),
    config_id: str = Query(""),
    options: str = Query("{}"),
) -> HTMLResponse:
    """The Embedded Signup popup for a Business app number (the form, or the launch error)."""
    world = runtime_of(request).world
    error = None
    version = "3"
    try:
        version = check_launch(world, app_id, config_id, options)
    except LaunchError as exc:
        error = str(exc)
    context = {"app_id": app_id, "config_id": config_id, "version": version, "step": STEP, "error": error}
    page = (
        DIALOG_HTML.replace("__APP_NAME__", html.escape(world.config.app_name))
        .replace("__FORM_CLASS__", "hidden" if error else "")
        .replace("__ERROR__", html.escape(error or ""))
        .replace("__CONTEXT__", _script_json(context))
    )
    return HTMLResponse(page)


def _refusal(message: str, status: int, *, retry: bool) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "code": status, "retry": retry}}, status)


@router.post("/complete")
async def complete(request: Request, body: Payload = Body(...)) -> JSONResponse:
    """Connect from the dialog: ``{phone, share_history, app_id, config_id}`` -> the ES code and WABA.

    An unknown number is 404 with ``retry: true`` (the owner may correct it); a refused onboarding
    (ineligible, already connected) is 409/422 with ``retry: false`` and the reason in words.
    """
    rt = runtime_of(request)
    world = rt.world
    try:
        check_app(world, str(body.get("app_id", "")), str(body.get("config_id", "")))
    except LaunchError as exc:
        return _refusal(str(exc), 422, retry=False)
    digits = "".join(ch for ch in str(body.get("phone", "")) if ch.isdigit())
    if not digits:
        return _refusal("Enter the phone number of your WhatsApp Business app.", 422, retry=True)
    number = world.number_by_display(digits)
    if number is None:
        return _refusal(f"No WhatsApp Business app account uses +{digits}.", 404, retry=True)
    try:
        result = phone.onboard(
            rt, number.phone_number_id, share_history=bool(body.get("share_history", True))
        )
    except ActionError as exc:
        return _refusal(exc.message, exc.status_code, retry=False)
    await world.clock.settle()
    result["user_id"] = world.new_id("10")
    result["expires_in"] = int(world.config.oauth_code_ttl)
    return JSONResponse(result)
