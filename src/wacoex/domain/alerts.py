"""Alerts: what a person must see about a number, and which `account_update` event raises which.

Every event in Meta's documented `account_update` list is either a state change of the number
(domain/lifecycle.py) or an alert here; a state change to disconnected or offboarded raises an
alert too, and a reconnection resolves it. An event outside the list raises an alert saying so:
nothing Meta says about the account goes unseen.

One alert per number and kind is open at a time: a newer alert of the same kind supersedes
(resolves) the older one, so the open alerts are the account's current condition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from wacoex.domain.lifecycle import NumberState, explain_disconnection


class Severity(StrEnum):
    INFO = "info"  # for the record; nothing to do
    WARNING = "warning"  # something to check or plan for
    CRITICAL = "critical"  # sends or webhooks are stopped, or soon will be


class AlertKind(StrEnum):
    CONNECTION = "connection"  # disconnected or offboarded from the Cloud API
    PARTNER_APP = "partner_app"
    PARTNER = "partner"
    ACCOUNT_RESTRICTION = "account_restriction"
    ACCOUNT_VIOLATION = "account_violation"
    ACCOUNT_DISABLED = "account_disabled"
    AD_ACCOUNT = "ad_account"
    AUTH_INTERNATIONAL_PRICING = "auth_international_pricing"
    BUSINESS_COUNTRY = "business_country"
    MM_LITE_TERMS = "mm_lite_terms"
    PARTNER_CERTIFICATION = "partner_certification"
    VOLUME_PRICING_TIER = "volume_pricing_tier"
    UNKNOWN_ACCOUNT_EVENT = "unknown_account_event"
    # raised by the gateway itself, not by an account_update event
    # a one-shot sync's condition: its deadline near or passed, unconfirmed, refused (one per sync)
    SYNC_CONTACTS = "sync_contacts"
    SYNC_HISTORY = "sync_history"
    INACTIVITY = "inactivity"  # no sign of life from the phone for days (the ~14-day cut)
    BIZ_APP = "biz_app"  # Meta no longer reports the number on the Business app and the Cloud API


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    severity: Severity
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlertDecision:
    """What an account event does to a number's alerts: opens `alert` and/or resolves `resolves`."""

    alert: Alert | None = None
    resolves: tuple[AlertKind, ...] = ()


# Meta's documented account_update events (the account_update webhook reference).
DOCUMENTED_EVENTS: frozenset[str] = frozenset(
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

# The value's keys that only route the event; the rest are the event's details.
_ROUTING = ("event", "phone_number", "waba_info")


def _details(value: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in _ROUTING}


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _connection(event: str, value: Mapping[str, Any], moved_to: NumberState | None) -> AlertDecision:
    if moved_to is None:
        return AlertDecision()  # fenced: older than the number's state, or a duplicate
    if moved_to is NumberState.CONNECTED:
        return AlertDecision(resolves=(AlertKind.CONNECTION,))
    if moved_to is NumberState.DISCONNECTED:
        info = _dict(value.get("disconnection_info"))
        why = explain_disconnection(_str(info.get("reason")), _str(info.get("initiated_by")))
        message = (
            f"Disconnected from the Cloud API. {why} Sends are refused until the number is onboarded "
            "again; everything recorded so far is kept."
        )
    elif event == "ACCOUNT_DELETED":
        message = (
            "The WhatsApp Business Account was deleted: the number is offboarded. Sends are refused; "
            "everything recorded so far is kept."
        )
    else:
        message = (
            "Offboarded from the Cloud API: the owner re-registered the number (on a new device, for "
            "example). Sends are refused until it is onboarded again; everything recorded so far is kept."
        )
    return AlertDecision(
        alert=Alert(AlertKind.CONNECTION, Severity.CRITICAL, message, {"event": event, **_details(value)}),
        resolves=(AlertKind.CONNECTION,),
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _restriction(value: Mapping[str, Any]) -> Alert:
    items = value.get("restriction_info")
    items = items if isinstance(items, list) else []
    kinds = [t for t in (_str(_dict(i).get("restriction_type")) for i in items) if t]
    what = ", ".join(kinds) if kinds else "unspecified"
    message = (
        f"Meta restricted the WhatsApp Business Account ({what}): some sends (business-initiated "
        "messages, new conversations) are refused while the restriction lasts."
    )
    return Alert(AlertKind.ACCOUNT_RESTRICTION, Severity.CRITICAL, message, _details(value))


def _violation(value: Mapping[str, Any]) -> Alert:
    kind = _str(_dict(value.get("violation_info")).get("violation_type")) or "unspecified"
    message = (
        f"Meta found a policy violation on the WhatsApp Business Account ({kind}): repeated "
        "violations lead to restrictions or to the account being disabled."
    )
    return Alert(AlertKind.ACCOUNT_VIOLATION, Severity.CRITICAL, message, _details(value))


def _disabled(value: Mapping[str, Any]) -> Alert:
    ban = _dict(value.get("ban_info"))
    state = _str(ban.get("waba_ban_state")) or "unspecified"
    date = _str(ban.get("waba_ban_date"))
    if state == "REINSTATE":
        return Alert(
            AlertKind.ACCOUNT_DISABLED,
            Severity.INFO,
            "Meta reinstated the WhatsApp Business Account: it may send again.",
            _details(value),
        )
    if state == "SCHEDULE_FOR_DISABLE":
        when = f" on {date}" if date else ""
        message = (
            f"Meta will disable the WhatsApp Business Account{when}: appeal in Business Manager before then."
        )
        return Alert(AlertKind.ACCOUNT_DISABLED, Severity.CRITICAL, message, _details(value))
    return Alert(
        AlertKind.ACCOUNT_DISABLED,
        Severity.CRITICAL,
        f"Meta disabled the WhatsApp Business Account (ban state {state}): nothing can be sent.",
        _details(value),
    )


def _certification(value: Mapping[str, Any]) -> Alert:
    info = _dict(value.get("partner_client_certification_info"))
    status = _str(info.get("status")) or "unspecified"
    severity = Severity.WARNING if status in ("REJECTED", "FAILED") else Severity.INFO
    message = f"The partner's client certification changed: {status}."
    return Alert(AlertKind.PARTNER_CERTIFICATION, severity, message, _details(value))


def _info(kind: AlertKind, message: str) -> Callable[[Mapping[str, Any]], Alert]:
    def alert(value: Mapping[str, Any]) -> Alert:
        return Alert(kind, Severity.INFO, message, _details(value))

    return alert


_ALERTS: dict[str, Callable[[Mapping[str, Any]], Alert]] = {
    "ACCOUNT_RESTRICTION": _restriction,
    "ACCOUNT_VIOLATION": _violation,
    "DISABLED_UPDATE": _disabled,
    "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE": _certification,
    "PARTNER_APP_UNINSTALLED": lambda value: Alert(
        AlertKind.PARTNER_APP,
        Severity.CRITICAL,
        "The partner app was uninstalled from the WhatsApp Business Account: this gateway's token no "
        "longer reaches the account, so sends fail and webhooks stop until the app is installed again.",
        _details(value),
    ),
    "PARTNER_APP_INSTALLED": _info(
        AlertKind.PARTNER_APP, "The partner app was installed on the WhatsApp Business Account."
    ),
    "PARTNER_ADDED": _info(AlertKind.PARTNER, "A partner was added to the WhatsApp Business Account."),
    "AD_ACCOUNT_LINKED": _info(
        AlertKind.AD_ACCOUNT, "An ad account was linked to the WhatsApp Business Account."
    ),
    "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE": _info(
        AlertKind.AUTH_INTERNATIONAL_PRICING,
        "The account's eligibility for authentication-international rates changed.",
    ),
    "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE": _info(
        AlertKind.BUSINESS_COUNTRY, "The business's primary location country changed (it affects pricing)."
    ),
    "MM_LITE_TERMS_SIGNED": _info(
        AlertKind.MM_LITE_TERMS, "The Marketing Messages Lite API terms were signed for the account."
    ),
    "VOLUME_BASED_PRICING_TIER_UPDATE": _info(
        AlertKind.VOLUME_PRICING_TIER, "The account's volume-based pricing tier changed."
    ),
}


def account_alert(event: str, value: Mapping[str, Any], *, moved_to: NumberState | None) -> AlertDecision:
    """The alerts `event` (its webhook `value`) opens and resolves; `moved_to`: the state it moved
    the number to (None: it moved none, or it was fenced as stale)."""
    if event in ("PARTNER_REMOVED", "ACCOUNT_OFFBOARDED", "ACCOUNT_DELETED", "ACCOUNT_RECONNECTED"):
        return _connection(event, value, moved_to)
    build = _ALERTS.get(event)
    if build is not None:
        alert = build(value)
        return AlertDecision(alert=alert, resolves=(alert.kind,))
    message = (
        f"Meta sent the account_update event {event}, which wacoex does not know; "
        "its body is kept in the alert's details."
    )
    alert = Alert(
        AlertKind.UNKNOWN_ACCOUNT_EVENT, Severity.WARNING, message, {"event": event, **_details(value)}
    )
    return AlertDecision(alert=alert)
