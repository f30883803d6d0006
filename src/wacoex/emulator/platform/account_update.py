"""Any documented `account_update` event on demand, and what it does to the number.

`emit_event(rt, number, body)` builds the value for `body["event"]` (account_payloads.py, one builder
per shape, defaults filled from the world), merges the caller's `body["value"]` over it, emits it and
applies the event's effect, matching the phone's model of the link to the Cloud API:

- PARTNER_REMOVED, ACCOUNT_OFFBOARDED, ACCOUNT_DELETED: the number is OFFBOARDED
  (`platform_type` NOT_APPLICABLE), so the API refuses its sends (133010) as after a disconnect;
  ACCOUNT_DELETED does so to every number of the WABA.
- ACCOUNT_RECONNECTED: CONNECTED again on the Cloud API, `onboarded_at` = now, sync counters reset.
- DISABLED_UPDATE: ban state DISABLE disables every number of the WABA (sends refused with 131031),
  REINSTATE enables them again, SCHEDULE_FOR_DISABLE changes nothing yet.
- everything else (restrictions, violations, pricing, partner events...) only emits.
"""

from __future__ import annotations

import datetime
from typing import Any

from wacoex.emulator.platform import account_payloads as ap
from wacoex.emulator.runtime import Runtime
from wacoex.emulator.world import Number, World

Json = dict[str, Any]
OFFBOARDING = frozenset({"PARTNER_REMOVED", "ACCOUNT_OFFBOARDED", "ACCOUNT_DELETED"})
DAY = 86_400


class AccountUpdateError(ValueError):
    """The request cannot be turned into an event (unknown name, bad enum value, wrong type)."""


def _str(body: Json, key: str, default: str) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value:
        raise AccountUpdateError(f"{key!r} must be a non-empty string")
    return value


def _int(body: Json, key: str, default: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AccountUpdateError(f"{key!r} must be a number (Unix seconds)")
    return int(value)


def _list(body: Json, key: str, default: list[Any]) -> list[Any]:
    value = body.get(key, default)
    if not isinstance(value, list):
        raise AccountUpdateError(f"{key!r} must be a list")
    return value


def _date(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d")


def build_value(world: World, number: Number, body: Json) -> Json:
    """The documented value for `body["event"]`, defaults from the world, `body["value"]` merged over."""
    event = body.get("event")
    if not isinstance(event, str) or not event:
        raise AccountUpdateError("'event' is required (one of the documented account_update events)")
    extra = body.get("value", {})
    if not isinstance(extra, dict):
        raise AccountUpdateError("'value' must be an object (its keys are merged into the emitted value)")
    if event not in ap.EVENTS:
        if not body.get("allow_unknown"):
            raise AccountUpdateError(
                f"unknown account_update event {event!r}; documented events: {', '.join(sorted(ap.EVENTS))} "
                '(send "allow_unknown": true to emit it anyway)'
            )
        return {"event": event, **extra}
    try:
        value = _documented(world, number, event, body)
    except (TypeError, ValueError) as exc:
        raise AccountUpdateError(str(exc)) from exc
    return {**value, **extra}


def _documented(world: World, number: Number, event: str, body: Json) -> Json:
    waba = world.wabas[number.waba_id]
    now = int(world.clock.now())
    info = ap.waba_info(waba.id, waba.business_id)
    if event == "PARTNER_REMOVED":
        return ap.partner_removed(
            phone_number=number.display_phone_number,
            waba_id=waba.id,
            owner_business_id=waba.business_id,
            reason=_str(body, "reason", "ACCOUNT_DISCONNECTED"),
            initiated_by=_str(body, "initiated_by", "USER"),
            variant=_str(body, "variant", "both"),
        )
    if event == "PARTNER_APP_INSTALLED":
        return ap.partner_app_installed(
            waba_id=waba.id, owner_business_id=waba.business_id, partner_app_id=world.config.app_id
        )
    if event == "PARTNER_APP_UNINSTALLED":
        return ap.waba_event(event, {**info, "partner_app_id": world.config.app_id})
    if event in ("PARTNER_ADDED", "MM_LITE_TERMS_SIGNED"):
        return ap.waba_event(event, info)
    if event == "AD_ACCOUNT_LINKED":
        linked = _str(body, "ad_account_id", f"act_{world.new_id('6')}")
        return ap.waba_event(event, ap.waba_info(waba.id, waba.business_id, ad_account_linked=linked))
    if event == "ACCOUNT_RESTRICTION":
        one = ap.restriction(
            _str(body, "restriction_type", "RESTRICTED_BIZ_INITIATED_MESSAGING"),
            _int(body, "expiration", now + DAY),
        )
        return ap.account_restriction(_list(body, "restriction_info", [one]))
    if event == "ACCOUNT_VIOLATION":
        return ap.account_violation(_str(body, "violation_type", "SCAM"))
    if event == "DISABLED_UPDATE":
        return ap.disabled_update(_str(body, "ban_state", "DISABLE"), _str(body, "ban_date", _date(now)))
    if event == "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE":
        return ap.auth_intl_price_eligibility(
            _int(body, "start_time", now), _list(body, "exception_countries", [])
        )
    if event == "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE":
        return ap.primary_location_country(_str(body, "country", "US"))
    if event == "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE":
        reasons = body.get("rejection_reasons")
        return ap.partner_client_certification(
            waba.business_id,
            _str(body, "status", "APPROVED"),
            None if reasons is None else _list(body, "rejection_reasons", []),
        )
    if event == "VOLUME_BASED_PRICING_TIER_UPDATE":
        return ap.volume_tier_update(
            tier_update_time=_int(body, "tier_update_time", now),
            pricing_category=_str(body, "pricing_category", "UTILITY"),
            tier=_str(body, "tier", "0:250000"),
            effective_month=_str(body, "effective_month", _date(now)[:7]),
            region=_str(body, "region", "North America"),
        )
    return ap.account_event(event)  # ACCOUNT_DELETED, ACCOUNT_OFFBOARDED, ACCOUNT_RECONNECTED


def apply_effect(rt: Runtime, number: Number, event: str, value: Json) -> None:
    """What the event does to the world (nothing for most)."""
    world = rt.world
    waba_numbers = [world.numbers[p] for p in world.wabas[number.waba_id].phone_number_ids]
    if event in OFFBOARDING:
        for target in waba_numbers if event == "ACCOUNT_DELETED" else [number]:
            target.state = "OFFBOARDED"
            target.platform_type = "NOT_APPLICABLE"
    elif event == "ACCOUNT_RECONNECTED":
        now = world.clock.now()
        number.state = "CONNECTED"
        number.platform_type = "CLOUD_API"
        number.onboarded_at = now
        number.last_primary_open_at = now
        number.sync_done = set()
    elif event == "DISABLED_UPDATE":
        ban = value.get("ban_info")
        state = ban.get("waba_ban_state") if isinstance(ban, dict) else None
        if state in ("DISABLE", "REINSTATE"):
            for target in waba_numbers:
                target.disabled = state == "DISABLE"


def emit_event(rt: Runtime, number: Number, body: Json) -> Json:
    """Build, emit and apply one `account_update` event; returns the emitted value."""
    value = build_value(rt.world, number, body)
    rt.emit(number.phone_number_id, "account_update", value)
    apply_effect(rt, number, str(body["event"]), value)
    return value
