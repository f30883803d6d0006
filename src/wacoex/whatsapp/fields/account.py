"""Field `account_update`: PARTNER_REMOVED (both documented shapes), ACCOUNT_OFFBOARDED and the rest.

The coexistence page puts `phone_number` in the value, the reference puts `waba_info.waba_id`
(spec §8 C-6); both are read. The event time is `entry[].time`, an int or a numeric string (C-12).
"""

from __future__ import annotations

from wacoex.domain import limits
from wacoex.domain.facts import JSON, AccountEvent, AnyFact, Source, Unknown
from wacoex.whatsapp.fields._common import bounded, opt_dict, to_str


def parse(value: JSON, source: Source) -> list[AnyFact]:
    """The one AccountEvent of an `account_update` change value (Unknown without an event name)."""
    event = value.get("event")
    if type(event) is not str or not event:
        return [Unknown(source=source, reason="account_update: missing or non-string event", raw=value)]
    if len(event) > limits.ACCOUNT_EVENT:
        reason = f"account_update: event longer than {limits.ACCOUNT_EVENT} characters"
        return [Unknown(source=source, reason=reason, raw=value)]
    waba_info = opt_dict(value.get("waba_info")) or {}
    disconnection = opt_dict(value.get("disconnection_info")) or {}
    return [
        AccountEvent(
            source=source,
            event=event,
            timestamp=source.entry_time,
            phone_number=to_str(value.get("phone_number")) or None,
            waba_id=to_str(waba_info.get("waba_id")) or None,
            # Codes such as PRIMARY_INACTIVITY / SYSTEM: a longer one is not one of them (kept in raw).
            disconnection_reason=bounded(disconnection.get("reason"), limits.ACCOUNT_REASON),
            disconnection_initiated_by=bounded(disconnection.get("initiated_by"), limits.INITIATED_BY),
            raw=value,
        )
    ]
