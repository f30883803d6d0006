"""Onboarding through a signup link: the admin's `POST /api/v1/onboarding/links`, and the business
owner's page (`GET /onboarding/signup?t=`) with its two JSON calls, which take the link's token as
their only credential (no API key), and the static "switching back" page.

The page's calls are not part of the API's OpenAPI document: `POST /onboarding/signup/check` (the
number's eligibility, nothing is called) and `POST /onboarding/signup/complete` (Embedded Signup
finished as the link's workspace admin; the answer is `POST /api/v1/onboarding/embedded-signup`'s).
A bad link is 403 and an expired one 410, as an HTML page or in the API's error shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from wacoex.config import Settings
from wacoex.domain.access import Principal, Role
from wacoex.services.signup_links import LinkExpired, LinkInvalid, SignupLink, SignupLinks
from wacoex.web.api.models import ErrorBody
from wacoex.web.api.onboarding import (
    EligibilityModel,
    EmbeddedSignupBody,
    OnboardedModel,
    eligibility_model,
    onboarded_model,
)
from wacoex.web.deps import Caller, require_api_key
from wacoex.web.errors import body as error_body
from wacoex.web.signup_page import PageConfig, error_page, not_configured_page, signup_page, switch_back_page

SIGNUP_PATH = "/onboarding/signup"
MAX_LINK_HOURS = 8760.0  # the schema's bound; the setting caps every link below it
# The page holds a credential in its URL: never cached, never framed, never sent on as a Referer.
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "the body is not JSON"},
    401: {"model": ErrorBody, "description": "missing, unknown or revoked API key"},
    403: {"model": ErrorBody, "description": "the key's role may not do this (admin keys only)"},
    422: {"model": ErrorBody, "description": "invalid parameter"},
}
router = APIRouter()


class LinkBody(BaseModel):
    model_config = ConfigDict(strict=True)  # "2" is not a number of hours

    hours: float | None = Field(
        default=None,
        gt=0,
        le=MAX_LINK_HOURS,
        description="how long the link works; at most (and by default) WACOEX_SIGNUP_LINK_HOURS, "
        "which caps a longer request",
    )


class LinkModel(BaseModel):
    url: str = Field(description="the page the business owner opens: whoever holds it can onboard a number")
    expires_at: datetime
    workspace_id: int = Field(description="the workspace the number will belong to")


class CheckBody(BaseModel):
    t: str = Field(min_length=1, max_length=2048, description="the signup link's token")
    phone: str = Field(min_length=1, max_length=32, description="the number with its country code")


class CompleteBody(EmbeddedSignupBody):
    t: str = Field(min_length=1, max_length=2048, description="the signup link's token")


def _links(settings: Settings) -> SignupLinks:
    return SignupLinks(
        settings.secret_key, settings.previous_secret_keys, max_hours=settings.signup_link_hours
    )


def _settings(request: Request) -> Settings:
    return request.app.state.container.settings


def _base_url(request: Request, settings: Settings) -> str:
    return (settings.public_url or str(request.base_url)).rstrip("/")


@router.post(
    "/api/v1/onboarding/links",
    response_model=LinkModel,
    status_code=201,
    tags=["onboarding"],
    responses=_ERRORS,
    dependencies=[Depends(require_api_key)],
)
def post_link(
    request: Request, body: LinkBody = Body(default_factory=LinkBody), who: Principal = Caller
) -> LinkModel:
    """A signup link for the business owner: a page where they check their number and connect their
    WhatsApp Business app with Embedded Signup, into the caller's workspace (the settings' admin key:
    the default workspace). Nothing is stored; the link works until `expires_at`. Admin keys only."""
    settings = _settings(request)
    link = _links(settings).create(who, body.hours)
    return LinkModel(
        url=f"{_base_url(request, settings)}{SIGNUP_PATH}?t={link.token}",
        expires_at=datetime.fromtimestamp(link.expires_at, tz=UTC),
        workspace_id=link.workspace_id,
    )


@router.get(SIGNUP_PATH, include_in_schema=False)
def get_signup_page(request: Request, t: str | None = Query(default=None)) -> Response:
    """The business owner's page; the token is the credential."""
    settings = _settings(request)
    try:
        link = _open(settings, t or "")
    except (LinkInvalid, LinkExpired) as exc:
        return _html(error_page("This link does not work", exc.message), _status(exc))
    app_id, config_id = settings.meta_app_id, settings.es_config_id
    if not app_id or not config_id:
        named = (("WACOEX_META_APP_ID", app_id), ("WACOEX_ES_CONFIG_ID", config_id))
        missing = [name for name, value in named if not value]
        return _html(not_configured_page(missing), 503)
    config = PageConfig(
        token=link.token,
        app_id=app_id,
        config_id=config_id,
        graph_version=settings.es_graph_version,
        sdk_url=settings.es_sdk_url,
        origins=tuple(settings.es_origins),
        expires_at=link.expires_at,
    )
    return _html(signup_page(config), 200)


@router.post(f"{SIGNUP_PATH}/check", include_in_schema=False, response_model=None)
def post_check(request: Request, body: CheckBody) -> EligibilityModel | JSONResponse:
    """Whether the number can be onboarded (its country; nothing is called)."""
    container = request.app.state.container
    try:
        _open(container.settings, body.t)
    except (LinkInvalid, LinkExpired) as exc:
        return _json_error(exc)
    return eligibility_model(container.onboarding.eligibility(body.phone))


@router.post(f"{SIGNUP_PATH}/complete", include_in_schema=False, response_model=None, status_code=201)
def post_complete(request: Request, body: CompleteBody) -> OnboardedModel | JSONResponse:
    """Embedded Signup finished in the owner's browser: the number onboarded into the link's workspace."""
    container = request.app.state.container
    try:
        link = _open(container.settings, body.t)
    except (LinkInvalid, LinkExpired) as exc:
        return _json_error(exc)
    who = Principal(role=Role.ADMIN, workspace_id=link.workspace_id, name="signup link")
    done = container.onboarding.embedded_signup(
        who, code=body.code, waba_id=body.waba_id, phone=body.phone, phone_number_id=body.phone_number_id
    )
    return onboarded_model(done)


@router.get("/onboarding/switch-back", include_in_schema=False)
def get_switch_back() -> Response:
    """How to switch back to the WhatsApp Business app alone, and what is kept (static)."""
    return _html(switch_back_page(), 200)


def _open(settings: Settings, token: str) -> SignupLink:
    if not token.strip():
        raise LinkInvalid(
            "this page needs the whole signup link (its ?t=… part is missing): "
            "ask whoever sent it for a new link"
        )
    return _links(settings).open(token)


def _status(exc: LinkInvalid | LinkExpired) -> int:
    return 410 if isinstance(exc, LinkExpired) else 403


def _json_error(exc: LinkInvalid | LinkExpired) -> JSONResponse:
    return JSONResponse(error_body(exc.code, exc.message), status_code=_status(exc))


def _html(page: str, status: int) -> HTMLResponse:
    return HTMLResponse(page, status_code=status, headers=_PAGE_HEADERS)
