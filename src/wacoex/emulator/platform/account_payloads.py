"""Builders of `account_update` webhook values, one per documented shape (coexistence-spec §1.13).

Pure functions over plain values, like payloads.py: each returns the `changes[].value` object; the
dispatcher adds the envelope (and `entry.time`). The shapes follow Meta's account_update reference:
`waba_info` on the PARTNER_* events, AD_ACCOUNT_LINKED (with `ad_account_linked`) and
MM_LITE_TERMS_SIGNED; `restriction_info[]`, `violation_info`, `ban_info`,
`auth_international_rate_eligibility`, `country`, `partner_client_certification_info` and
`volume_tier_info` on their events; a bare `{"event"}` for ACCOUNT_DELETED, ACCOUNT_OFFBOARDED and
ACCOUNT_RECONNECTED. PARTNER_REMOVED comes in the coexistence page's shape (`phone_number`), the
reference's (`waba_info`), or the union of both (what the phone emits).
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

EVENTS = frozenset(
    {
        "ACCOUNT_DELETED",
        "ACCOUNT_RESTRICTION",
        "ACCOUNT_VIOLATION",
        "AD_ACCOUNT_LINKED",
        "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE",
        "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE",
        "DISABLED_UPDATE",
        "MM_LITE_TERMS_SIGNED",
        "PARTNER_ADDED",
        "PARTNER_APP_INSTALLED",
        "PARTNER_APP_UNINSTALLED",
        "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE",
        "PARTNER_REMOVED",
        "VOLUME_BASED_PRICING_TIER_UPDATE",
        "ACCOUNT_OFFBOARDED",
        "ACCOUNT_RECONNECTED",
    }
)
DISCONNECTION_REASONS = frozenset(
    {
        "ACCOUNT_DISCONNECTED",
        "BUSINESS_DOWNGRADE",
        "CHANGE_NUMBER",
        "COMPANION_INACTIVITY",
        "PRIMARY_INACTIVITY",
        "USER_RE_REGISTERED",
    }
)
BAN_STATES = frozenset({"SCHEDULE_FOR_DISABLE", "DISABLE", "REINSTATE"})
PARTNER_REMOVED_VARIANTS = ("both", "phone_number", "waba_info")


def waba_info(waba_id: str, owner_business_id: str, **extra: Any) -> Json:
    """The `waba_info` object: the customer's WABA and business portfolio, plus event-specific keys."""
    return {"waba_id": waba_id, "owner_business_id": owner_business_id, **extra}


def account_event(event: str) -> Json:
    """ACCOUNT_DELETED / ACCOUNT_OFFBOARDED / ACCOUNT_RECONNECTED: the value is the bare event."""
    return {"event": event}


def waba_event(event: str, info: Json) -> Json:
    """PARTNER_ADDED, PARTNER_APP_UNINSTALLED, MM_LITE_TERMS_SIGNED, AD_ACCOUNT_LINKED: `waba_info`."""
    return {"event": event, "waba_info": info}


def partner_app_installed(
    *,
    waba_id: str,
    owner_business_id: str,
    partner_app_id: str,
    solution_id: str | None = None,
    solution_partner_business_ids: list[str] | None = None,
) -> Json:
    info = waba_info(waba_id, owner_business_id, partner_app_id=partner_app_id)
    if solution_id is not None:
        info["solution_id"] = solution_id
    if solution_partner_business_ids is not None:
        info["solution_partner_business_ids"] = solution_partner_business_ids
    return waba_event("PARTNER_APP_INSTALLED", info)


def partner_removed(
    *,
    phone_number: str,
    waba_id: str,
    owner_business_id: str,
    reason: str,
    initiated_by: str,
    variant: str = "both",
) -> Json:
    """PARTNER_REMOVED with `disconnection_info`: `variant` "phone_number" is the coexistence page's
    shape, "waba_info" the account_update reference's, "both" their union (the phone's default)."""
    if reason not in DISCONNECTION_REASONS:
        raise ValueError(f"unknown disconnection reason {reason!r} (one of {sorted(DISCONNECTION_REASONS)})")
    if initiated_by not in ("USER", "SYSTEM"):
        raise ValueError(f"initiated_by must be USER or SYSTEM, not {initiated_by!r}")
    if variant not in PARTNER_REMOVED_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(PARTNER_REMOVED_VARIANTS)}, not {variant!r}")
    value: Json = {}
    if variant in ("both", "phone_number"):
        value["phone_number"] = phone_number
    value["event"] = "PARTNER_REMOVED"
    if variant in ("both", "waba_info"):
        value["waba_info"] = waba_info(waba_id, owner_business_id)
    value["disconnection_info"] = {"reason": reason, "initiated_by": initiated_by}
    return value


def account_restriction(restrictions: list[Json]) -> Json:
    """`restriction_info[{restriction_type, expiration}]`."""
    return {"event": "ACCOUNT_RESTRICTION", "restriction_info": restrictions}


def restriction(restriction_type: str, expiration: int) -> Json:
    return {"restriction_type": restriction_type, "expiration": expiration}


def account_violation(violation_type: str) -> Json:
    return {"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": violation_type}}


def disabled_update(ban_state: str, ban_date: str) -> Json:
    """`ban_info{waba_ban_state, waba_ban_date}`: SCHEDULE_FOR_DISABLE, DISABLE or REINSTATE."""
    if ban_state not in BAN_STATES:
        raise ValueError(f"waba_ban_state must be one of {sorted(BAN_STATES)}, not {ban_state!r}")
    return {"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": ban_state, "waba_ban_date": ban_date}}


def auth_intl_price_eligibility(start_time: int, exception_countries: list[Json]) -> Json:
    """`auth_international_rate_eligibility{exception_countries[{country_code, start_time}], start_time}`."""
    return {
        "event": "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE",
        "auth_international_rate_eligibility": {
            "exception_countries": exception_countries,
            "start_time": start_time,
        },
    }


def primary_location_country(country: str) -> Json:
    return {"country": country, "event": "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE"}


def partner_client_certification(
    client_business_id: str, status: str, rejection_reasons: list[str] | None = None
) -> Json:
    """`partner_client_certification_info{client_business_id, status, rejection_reasons?}`."""
    info: Json = {"client_business_id": client_business_id, "status": status}
    if rejection_reasons is not None:
        info["rejection_reasons"] = rejection_reasons
    return {"event": "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE", "partner_client_certification_info": info}


def volume_tier_update(
    *, tier_update_time: int, pricing_category: str, tier: str, effective_month: str, region: str
) -> Json:
    """`volume_tier_info{tier_update_time, pricing_category, tier, effective_month, region}`."""
    return {
        "event": "VOLUME_BASED_PRICING_TIER_UPDATE",
        "volume_tier_info": {
            "tier_update_time": tier_update_time,
            "pricing_category": pricing_category,
            "tier": tier,
            "effective_month": effective_month,
            "region": region,
        },
    }
