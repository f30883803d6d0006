"""The customer service window of one conversation, as the send policy and the API see it.

WhatsApp lets the business send free-form messages only within 24 hours of the customer's last
message; outside it, only templates. On a coexistence number the window is the Cloud API's alone:
it opens only when the customer writes after onboarding (never through an echo from the owner's
phone, imported history, a status or our own sends), and a send the provider refused with 131047
closes it until the customer writes again (Meta's clock is authoritative, ours may differ).

The free entry point (72 h after the business answers a click-to-WhatsApp ad or Page CTA within
24 h) changes only the price, not what may be sent: it is reported beside the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wacoex.domain.conversation import WINDOW_MS

FREE_ENTRY_POINT_MS = 72 * 3600 * 1000


class WindowReason(StrEnum):
    CUSTOMER_MESSAGE = "customer_message"  # open: the customer wrote within 24 hours
    EXPIRED = "expired"  # closed: the customer's last message is older than 24 hours
    NEVER_OPENED = "never_opened"  # closed: the customer has not written since onboarding
    CLOSED_BY_PROVIDER = "closed_by_provider"  # closed: a send was answered 131047 since they wrote


@dataclass(frozen=True, slots=True)
class Window:
    open: bool
    expires_at: int | None  # when an open window closes; the moment a closed one closed, if known
    reason: WindowReason
    free_entry_point_until: int | None = None  # while in the future, every message is free

    def as_dict(self) -> dict[str, object]:
        return {
            "open": self.open,
            "expires_at": self.expires_at,
            "reason": self.reason.value,
            "free_entry_point_until": self.free_entry_point_until,
        }


def window_of(
    *,
    last_customer_at: int | None,
    window_closed_at: int | None,
    fep_expires_at: int | None,
    now: int,
) -> Window:
    """The window at `now` from the conversation's stored times (all epoch ms)."""
    fep = fep_expires_at if fep_expires_at is not None and fep_expires_at > now else None
    if last_customer_at is None:
        return Window(False, None, WindowReason.NEVER_OPENED, fep)
    expires = last_customer_at + WINDOW_MS
    if window_closed_at is not None and window_closed_at >= last_customer_at:
        return Window(False, min(window_closed_at, expires), WindowReason.CLOSED_BY_PROVIDER, fep)
    if now < expires:
        return Window(True, expires, WindowReason.CUSTOMER_MESSAGE, fep)
    return Window(False, expires, WindowReason.EXPIRED, fep)


def free_entry_point_opens(referral_at: int | None, now: int) -> int | None:
    """When the business answers a click-to-WhatsApp referral within 24 h: the FEP's end, else None."""
    if referral_at is None or now - referral_at >= WINDOW_MS or now < referral_at:
        return None
    return now + FREE_ENTRY_POINT_MS
