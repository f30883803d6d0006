"""REST API v1: onboarding a number (eligibility, Embedded Signup's code, 360dialog's channel), its
one-shot syncs, and the owner's "I opened the app" acknowledgement."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from wacoex.domain.access import Principal
from wacoex.domain.eligibility import Eligibility
from wacoex.domain.onboarding import sync_kind
from wacoex.services.health import onboarding_status, sync_status
from wacoex.services.onboarding import Onboarded, Onboarding
from wacoex.services.syncs import Syncs
from wacoex.services.watch import NumberWatch
from wacoex.web.api.health import OnboardingStatus, SyncStatus, onboarding_model, sync_model
from wacoex.web.api.models import ErrorBody, at
from wacoex.web.api.params import pnid_path
from wacoex.web.deps import Caller, require_api_key

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "the body is not JSON"},
    401: {"model": ErrorBody, "description": "missing, unknown or revoked API key"},
    403: {"model": ErrorBody, "description": "the key's role may not do this"},
    404: {"model": ErrorBody, "description": "no such number (or it is another workspace's)"},
    409: {
        "model": ErrorBody,
        "description": "refused: not eligible, not a coexistence number, or a sync "
        "that was already requested (the code says which)",
    },
    422: {"model": ErrorBody, "description": "invalid parameter"},
    502: {"model": ErrorBody, "description": "the provider refused or failed"},
    503: {
        "model": ErrorBody,
        "description": "onboarding is not configured (the Meta app's id, 360dialog's partner)",
    },
}
router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(require_api_key)], tags=["onboarding"], responses=_ERRORS
)


class SyncName(StrEnum):
    CONTACTS = "contacts"
    HISTORY = "history"
    SMB_APP_STATE_SYNC = "smb_app_state_sync"


class EligibilityModel(BaseModel):
    phone: str = Field(description="digits, with the country code")
    region: str | None = Field(description="ISO 3166 region of the number")
    country: str | None
    eligible: bool
    refusal: str | None = Field(description="why it cannot be onboarded; null when it can")
    limits: list[str] = Field(description="what a coexistence number cannot do, to read before onboarding")


class EmbeddedSignupBody(BaseModel):
    code: str = Field(
        min_length=1, max_length=2048, pattern=r"\S", description="FB.login's code (30 seconds of life)"
    )
    waba_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"\S",
        description="FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING's data.waba_id",
    )
    phone: str | None = Field(
        default=None, max_length=32, description="the number (checked before anything is called)"
    )
    phone_number_id: str | None = Field(default=None, max_length=64)


class Dialog360Body(BaseModel):
    phone_number_id: str | None = Field(
        default=None, max_length=64, description="Meta's id of the number, when the channel does not name it"
    )
    channel_id: str = Field(
        min_length=1, max_length=64, pattern=r"\S", description="from the redirect's `channels`"
    )
    phone: str | None = Field(default=None, max_length=32)


class OnboardedModel(BaseModel):
    phone_number_id: str
    display_phone_number: str
    waba_id: str
    provider: str
    created: bool = Field(description="false: a number already registered, connected again")
    verified_name: str | None
    onboarding: OnboardingStatus


class SyncBody(BaseModel):
    force: bool = Field(
        default=False,
        description="request a sync whose first request is unconfirmed or was refused; Meta answers "
        "2593107 if the first one did arrive (then it is recorded as requested)",
    )


class HeartbeatAck(BaseModel):
    phone_number_id: str
    acknowledged_at: datetime


def _onboarding(request: Request) -> Onboarding:
    return request.app.state.container.onboarding


def _syncs(request: Request) -> Syncs:
    return request.app.state.container.syncs


def _watch(request: Request) -> NumberWatch:
    return request.app.state.container.watch


def eligibility_model(e: Eligibility) -> EligibilityModel:
    return EligibilityModel(
        phone=e.phone,
        region=e.region,
        country=e.country,
        eligible=e.eligible,
        refusal=e.refusal,
        limits=list(e.limits),
    )


def onboarded_model(o: Onboarded) -> OnboardedModel:
    n = o.onboarding.number
    status = onboarding_model(onboarding_status(o.onboarding))
    assert status is not None
    return OnboardedModel(
        phone_number_id=n.phone_number_id,
        display_phone_number=n.display_phone_number,
        waba_id=n.waba_id,
        provider=n.provider,
        created=o.created,
        verified_name=o.verified_name,
        onboarding=status,
    )


@router.get("/onboarding/eligibility", response_model=EligibilityModel)
def get_eligibility(
    phone: str = Query(min_length=1, max_length=32, description="the number with its country code"),
    onboarding: Onboarding = Depends(_onboarding),
) -> EligibilityModel:
    """Whether a number can be onboarded to coexistence (from its country; nothing is called), and
    the limits of a coexistence number."""
    return eligibility_model(onboarding.eligibility(phone))


@router.post("/onboarding/embedded-signup", response_model=OnboardedModel, status_code=201)
def post_embedded_signup(
    body: EmbeddedSignupBody,
    who: Principal = Caller,
    onboarding: Onboarding = Depends(_onboarding),
) -> OnboardedModel:
    """Finish Embedded Signup for a WhatsApp Business app number: exchange the code, find and
    confirm the number, subscribe the app, register it (never `register` with Meta), and request
    the contacts and history syncs. Admin keys only."""
    return onboarded_model(
        onboarding.embedded_signup(
            who, code=body.code, waba_id=body.waba_id, phone=body.phone, phone_number_id=body.phone_number_id
        )
    )


@router.post("/onboarding/360dialog", response_model=OnboardedModel, status_code=201)
def post_dialog360(
    body: Dialog360Body,
    who: Principal = Caller,
    onboarding: Onboarding = Depends(_onboarding),
) -> OnboardedModel:
    """Finish 360dialog's Integrated Onboarding for the channel its redirect names: a new API key from
    the Partner API, the number registered with it, the syncs requested. Admin keys only."""
    return onboarded_model(
        onboarding.dialog360(
            who, channel_id=body.channel_id, phone=body.phone, phone_number_id=body.phone_number_id
        )
    )


@router.post("/numbers/{phone_number_id}/syncs/{kind}", response_model=SyncStatus)
def post_sync(
    phone_number_id: str = pnid_path(),
    kind: SyncName = Path(description="contacts | history (smb_app_state_sync is contacts)"),
    body: SyncBody = Body(default_factory=SyncBody),
    who: Principal = Caller,
    syncs: Syncs = Depends(_syncs),
) -> SyncStatus:
    """Request a one-shot sync now. Each can be requested once per onboarding, within 24 hours: a
    second request is refused (409) without calling Meta. Admin keys only."""
    sync = sync_kind(kind.value)
    assert sync is not None
    return sync_model(sync_status(syncs.request(who, phone_number_id, sync, force=body.force)))


@router.post("/numbers/{phone_number_id}/heartbeat", response_model=HeartbeatAck)
def post_heartbeat(
    phone_number_id: str = pnid_path(),
    who: Principal = Caller,
    watch: NumberWatch = Depends(_watch),
) -> HeartbeatAck:
    """The owner opened the WhatsApp Business app: the countdown to the inactivity cut starts again
    (the gateway cannot see the app being opened). Admin or operator keys."""
    return HeartbeatAck(
        phone_number_id=phone_number_id, acknowledged_at=at(watch.acknowledge(who, phone_number_id))
    )
