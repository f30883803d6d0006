"""The phone's heartbeat: its last sign of life, and the countdown to the inactivity cut.

Meta disconnects a coexistence number when the WhatsApp Business app on the owner's phone has not
been opened for about 14 days (PARTNER_REMOVED, PRIMARY_INACTIVITY). The gateway cannot see the app
being opened; it sees what the phone does: messages the owner sends from it (echoes) and changes to
its address book, and the owner can say they opened the app (an acknowledgement). The newest of
these, or the number's (re)connection when newer, starts the count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wacoex.domain.alerts import Alert, AlertKind, Severity

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Countdown:
    last_sign_of_life_at: int | None  # epoch ms
    source: str | None  # which sign: echo | address_book | connected
    days_since: float | None
    days_left: float | None  # until the cut (negative: overdue); None when no countdown runs
    warning: bool
    explained: str


def countdown(
    signs: Mapping[str, int | None],
    now: int,
    *,
    cut_days: float,
    warning_days: float,
    counting: bool,
) -> Countdown:
    """The countdown from the newest of `signs` (source -> epoch ms); `counting` is False for a number
    without the rule (not a coexistence number, or not connected)."""
    known = {source: t for source, t in signs.items() if t is not None}
    source = max(known, key=lambda s: known[s]) if known else None
    last = known[source] if source is not None else None
    if not counting or last is None:
        why = "no countdown: not a connected coexistence number" if not counting else "no sign of life yet"
        return Countdown(last, source, None, None, False, why[:1].upper() + why[1:] + ".")
    since = max(0, now - last) / DAY_MS
    left = cut_days - since
    warning = since >= warning_days
    if left <= 0:
        explained = (
            f"No sign of life from the phone for {since:.1f} days: the owner must open the WhatsApp "
            "Business app now, or Meta disconnects the number."
        )
    elif warning:
        explained = (
            f"No sign of life from the phone for {since:.1f} days: ask the owner to open the WhatsApp "
            f"Business app within {left:.1f} days, or Meta disconnects the number."
        )
    else:
        explained = (
            f"Last sign of life {since:.1f} days ago; {left:.1f} days left until the owner must open the app."
        )
    return Countdown(last, source, round(since, 2), round(left, 2), warning, explained)


def signs_of_life(
    *,
    last_echo_at: int | None,
    last_address_book_at: int | None,
    acknowledged_at: int | None,
    connected_at: int | None,
) -> dict[str, int | None]:
    """The phone's signs of life by source: the owner's messages from it, its address book, the
    owner's word that they opened the app, and the (re)connection (the app was in use then)."""
    return {
        "echo": last_echo_at,
        "address_book": last_address_book_at,
        "acknowledged": acknowledged_at,
        "connected": connected_at,
    }


def inactivity_alert(c: Countdown) -> Alert | None:
    """The alert the countdown calls for: a warning from the warning day, critical once overdue."""
    if not c.warning or c.days_left is None:
        return None
    severity = Severity.CRITICAL if c.days_left <= 0 else Severity.WARNING
    details = {"days_since": c.days_since, "days_left": c.days_left, "source": c.source}
    # The message changes once a day at most, so the alert is not re-raised on every check.
    days = int(c.days_since or 0)
    if c.days_left <= 0:
        message = (
            f"No sign of life from the phone for {days} days: Meta disconnects a coexistence number after "
            "about 14 days without the WhatsApp Business app being opened. The owner must open it now, "
            "then acknowledge it (POST /api/v1/numbers/{id}/heartbeat)."
        )
    else:
        message = (
            f"No sign of life from the phone for {days} days: ask the owner to open the WhatsApp Business "
            "app (Meta disconnects the number after about 14 days without it), then acknowledge it "
            "(POST /api/v1/numbers/{id}/heartbeat)."
        )
    return Alert(AlertKind.INACTIVITY, severity, message, details)
