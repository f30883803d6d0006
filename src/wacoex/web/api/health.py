"""REST API v1: a number's health (state explained, last webhook, heartbeat, onboarding and its syncs,
history, what Meta last said of it, companion devices, open alerts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from wacoex.domain.access import Principal
from wacoex.services.health import Health, NumberHealth
from wacoex.services.health import OnboardingStatus as OnboardingStatusData
from wacoex.services.health import SyncStatus as SyncStatusData
from wacoex.web.api.models import ErrorBody, at, iso
from wacoex.web.api.params import pnid_path
from wacoex.web.deps import Caller, require_api_key

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, unknown or revoked API key"},
    404: {"model": ErrorBody, "description": "no such number (or it is another workspace's)"},
    422: {"model": ErrorBody, "description": "invalid parameter"},
}
router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(require_api_key)], tags=["health"], responses=_ERRORS
)


class Heartbeat(BaseModel):
    last_sign_of_life_at: datetime | None = Field(description="the phone's newest sign of life")
    source: str | None = Field(
        description="echo | address_book | acknowledged (the owner said they opened the app) | "
        "connected (onboarding or reconnection)"
    )
    days_since: float | None
    days_left: float | None = Field(
        description="days until the inactivity cut (WACOEX_INACTIVITY_DAYS); negative: overdue; "
        "null for a number that is not a connected coexistence number"
    )
    warning: bool = Field(description="true from WACOEX_INACTIVITY_WARNING_DAYS days without a sign of life")
    explained: str


class SyncStatus(BaseModel):
    kind: str = Field(description="smb_app_state_sync (contacts) | history")
    state: str = Field(description="pending | requesting | requested | unconfirmed | expired | failed")
    explained: str
    request_id: str | None = Field(description="Meta's request id (keep it for support)")
    requested_at: datetime | None
    confirmed_at: datetime | None = Field(description="when its first webhook arrived")
    error_code: int | None
    error_message: str | None


class OnboardingStatus(BaseModel):
    source: str = Field(description="embedded_signup | command | 360dialog | reconnected")
    started_at: datetime | None
    deadline_at: datetime | None = Field(description="the one-shot syncs can be requested until then")
    ended_at: datetime | None = Field(
        description="the number left the Cloud API after this onboarding (a new one starts afresh)"
    )
    syncs: list[SyncStatus]


class MetaStatus(BaseModel):
    is_on_biz_app: bool | None
    platform_type: str | None
    throughput_level: str | None
    quality_rating: str | None
    checked_at: datetime | None = Field(description="when Meta was last asked (every few hours)")


class HistoryStatus(BaseModel):
    state: str = Field(description="none | in_progress | complete | declined")
    explained: str
    progress: int
    messages_imported: int


class Alert(BaseModel):
    id: int
    kind: str
    severity: str = Field(description="info | warning | critical")
    message: str
    details: Any
    event: str | None = Field(description="the account_update event that opened it")
    opened_at: datetime | None


class NumberHealthModel(BaseModel):
    phone_number_id: str
    display_phone_number: str
    coexistence: bool
    state: str = Field(description="connected | disconnected | offboarded")
    state_reason: str | None
    state_initiated_by: str | None
    state_changed_at: datetime | None
    state_explained: str
    can_send: bool = Field(description="false while the number is not connected: sends are refused")
    last_webhook_at: datetime | None = Field(
        description="when a webhook about it was last received (to the minute)"
    )
    heartbeat: Heartbeat
    onboarding: OnboardingStatus | None = Field(description="null: not onboarded through wacoex")
    history: HistoryStatus
    meta: MetaStatus
    companions: str = Field(description="what companion devices a coexistence number supports")
    alerts: list[Alert] = Field(description="open alerts, newest first")
    checked_at: datetime


def number_health(request: Request) -> NumberHealth:
    return request.app.state.container.health


def _model(h: Health) -> NumberHealthModel:
    b = h.heartbeat
    return NumberHealthModel(
        phone_number_id=h.phone_number_id,
        display_phone_number=h.display_phone_number,
        coexistence=h.coexistence,
        state=h.state,
        state_reason=h.state_reason,
        state_initiated_by=h.state_initiated_by,
        state_changed_at=iso(h.state_changed_at),
        state_explained=h.state_explained,
        can_send=h.can_send,
        last_webhook_at=iso(h.last_webhook_at),
        heartbeat=Heartbeat(
            last_sign_of_life_at=iso(b.last_sign_of_life_at),
            source=b.source,
            days_since=b.days_since,
            days_left=b.days_left,
            warning=b.warning,
            explained=b.explained,
        ),
        onboarding=onboarding_model(h.onboarding),
        meta=MetaStatus(
            is_on_biz_app=h.meta.is_on_biz_app,
            platform_type=h.meta.platform_type,
            throughput_level=h.meta.throughput_level,
            quality_rating=h.meta.quality_rating,
            checked_at=iso(h.meta.checked_at),
        ),
        companions=h.companions,
        history=HistoryStatus(
            state=h.history.state,
            explained=h.history.explained,
            progress=h.history.progress,
            messages_imported=h.history.messages_imported,
        ),
        alerts=[
            Alert(
                id=a.id,
                kind=a.kind,
                severity=a.severity,
                message=a.message,
                details=a.details,
                event=a.event,
                opened_at=iso(a.opened_at),
            )
            for a in h.alerts
        ],
        checked_at=at(h.checked_at),
    )


def sync_model(s: SyncStatusData) -> SyncStatus:
    return SyncStatus(
        kind=s.kind.value,
        state=s.state.value,
        explained=s.explained,
        request_id=s.request_id,
        requested_at=iso(s.requested_at),
        confirmed_at=iso(s.confirmed_at),
        error_code=s.error_code,
        error_message=s.error_message,
    )


def onboarding_model(o: OnboardingStatusData | None) -> OnboardingStatus | None:
    if o is None:
        return None
    return OnboardingStatus(
        source=o.source,
        started_at=iso(o.started_at),
        deadline_at=iso(o.deadline_at),
        ended_at=iso(o.ended_at),
        syncs=[sync_model(s) for s in o.syncs],
    )


@router.get("/numbers/{phone_number_id}/health", response_model=NumberHealthModel)
def get_number_health(
    phone_number_id: str = pnid_path(),
    who: Principal = Caller,
    health: NumberHealth = Depends(number_health),
) -> NumberHealthModel:
    """The number's state explained, the last webhook about it, the countdown to the ~13-day
    inactivity cut, its history import, and its open alerts."""
    return _model(health.health(who, phone_number_id))
