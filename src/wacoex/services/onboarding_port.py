"""The ports onboarding and the one-shot syncs speak through: the store, and the provider's account API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from wacoex.domain.alerts import Alert
from wacoex.domain.onboarding import Answer, SyncKind, SyncView
from wacoex.services.ports import NumberRef


@dataclass(frozen=True, slots=True)
class CurrentOnboarding:
    """A number's current onboarding and its syncs, with the number (its token decrypted)."""

    number: NumberRef
    onboarding_id: int
    source: str
    started_at: int
    deadline_at: int
    ended_at: int | None  # the number left the Cloud API: this onboarding is over
    created_at: int  # when wacoex recorded it
    syncs: Mapping[SyncKind, SyncView]


@dataclass(frozen=True, slots=True, kw_only=True)
class Registration:
    """A number found and confirmed by onboarding, to register (or update) in a workspace."""

    phone_number_id: str
    display_phone_number: str
    waba_id: str
    provider: str
    access_token: str
    workspace_id: int
    source: str  # embedded_signup | command | 360dialog
    is_on_biz_app: bool | None
    platform_type: str | None


class OnboardingStore(Protocol):
    def register(self, reg: Registration, now: int) -> tuple[CurrentOnboarding, bool]:
        """Register the number (or give a registered one its new token and connect it again) and
        start its onboarding, unless the current one already began after its last disconnection
        (then it is kept, syncs and all). Returns it, and whether the number is new. Another
        workspace's number of the same id is a Conflict."""
        ...

    def current(self, phone_number_id: str, workspace_id: int | None) -> CurrentOnboarding | None:
        """The number's latest onboarding, over if `ended_at` (None: none, or no such number in the
        workspace)."""
        ...

    def open_syncs(self, now: int) -> Sequence[CurrentOnboarding]:
        """Current onboardings of connected numbers with a sync still pending or unconfirmed (its
        webhooks may have arrived since: `confirm` records it)."""
        ...

    def begin(self, onboarding_id: int, kind: SyncKind, now: int, *, force: bool = False) -> bool:
        """Write the intent (pending -> requesting; with `force`, unconfirmed or failed too) and
        commit it before the request leaves; False when another process got there first."""
        ...

    def answer(self, onboarding_id: int, kind: SyncKind, answer: Answer, now: int, retry_at: int) -> None:
        """Record the provider's answer to the request begun."""
        ...

    def unconfirm_stale(self, started_before: int, now: int) -> Sequence[tuple[CurrentOnboarding, SyncKind]]:
        """Requests still `requesting` since before `started_before` (a crash, a lost answer) become
        unconfirmed; which."""
        ...

    def confirm(self, onboarding_id: int, kind: SyncKind, now: int) -> bool:
        """A pending or unconfirmed sync whose webhooks arrived is requested (they prove it)."""
        ...

    def expire(self, onboarding_id: int, kind: SyncKind, now: int) -> bool:
        """A pending sync past its deadline: expired, never requested."""
        ...


class NumberAlerts(Protocol):
    def raise_alert(self, number: NumberRef, alert: Alert, at: int) -> bool:
        """Open `alert` (and record its event) unless an alert of its kind with the same message is
        already open; an open alert of its kind saying something else is resolved. Whether opened."""
        ...

    def clear(self, number_id: int, kinds: Sequence[str], at: int) -> None:
        """Resolve the number's open alerts of `kinds`."""
        ...


@dataclass(frozen=True, slots=True)
class FoundNumber:
    """A phone number of a WABA as the provider lists it."""

    phone_number_id: str
    display_phone_number: str
    verified_name: str | None
    is_on_biz_app: bool | None
    platform_type: str | None
    throughput_level: str | None = None
    quality_rating: str | None = None


class AccountApi(Protocol):
    """The provider's account calls onboarding makes (Meta's Graph API; 360dialog's where it has them)."""

    def exchange_code(self, code: str) -> str:
        """Embedded Signup's code (30 seconds of life, single use) for a business token."""
        ...

    def phone_numbers(self, waba_id: str, token: str) -> list[FoundNumber]:
        """GET /{waba_id}/phone_numbers (with is_on_biz_app and platform_type)."""
        ...

    def number_status(self, phone_number_id: str, token: str) -> FoundNumber:
        """GET /{phone_number_id}?fields=is_on_biz_app,platform_type,display_phone_number,..."""
        ...

    def subscribe_app(self, waba_id: str, token: str) -> None:
        """POST /{waba_id}/subscribed_apps: the WABA's webhooks come to this app."""
        ...

    def request_sync(self, number: NumberRef, kind: SyncKind) -> str:
        """POST /{phone_number_id}/smb_app_data (360dialog: POST /synchronization); the request id."""
        ...

    def channel(self, channel_id: str) -> Mapping[str, Any]:
        """360dialog: a channel of the partner (its WABA, phone number, Meta's phone number id)."""
        ...

    def set_webhook(self, number: NumberRef, url: str, headers: Mapping[str, str]) -> None:
        """360dialog: point the number's webhook at `url` (POST /v1/configs/webhook), with `headers`."""
        ...

    def channel_api_key(self, channel_id: str) -> str:
        """360dialog: a new API key for the channel (the older ones stop working)."""
        ...
