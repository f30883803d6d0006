"""The rules Meta enforces on sends and onboarding, as Graph errors (coexistence-spec.md §1.2, §4.4-4.7).

Customer service window (opened only by customer messages after onboarding), free entry point,
throughput (20 msg/s on coexistence numbers, 80
otherwise), pair rate, portfolio messaging limits, onboarding eligibility, and the Graph error shape.
"""

from __future__ import annotations

import re
import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any

from wacoex.emulator.world import Chat, FreeEntryPoint, Number, TokenBucket, World


class GraphError(Exception):
    """A Graph API error: ``{"error": {message "(#code) title", type, code, error_subcode, ...}}``."""

    def __init__(
        self,
        code: int,
        title: str,
        details: str | None = None,
        *,
        http_status: int = 400,
        subcode: int | None = None,
        message: str | None = None,
        error_type: str = "OAuthException",
    ) -> None:
        super().__init__(f"({code}) {title}")
        self.code = code
        self.title = title
        self.details = details or title
        self.http_status = http_status
        self.subcode = subcode
        self.message = message or f"(#{code}) {title}"
        self.error_type = error_type

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
            "error_data": {"messaging_product": "whatsapp", "details": self.details},
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
        return {"error": error}

    def status_error(self) -> dict[str, Any]:
        """The same error as it appears in ``statuses[].errors[]`` of a failed status webhook."""
        return {
            "code": self.code,
            "title": self.title,
            "message": self.title,
            "error_data": {"details": self.details},
            "href": "https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes",
        }


# -- the error catalogue ------------------------------------------------------------------------
def invalid_token() -> GraphError:
    return GraphError(
        190,
        "Invalid OAuth access token - Cannot parse access token",
        "The access token is invalid or has expired.",
        http_status=401,
        message="Invalid OAuth access token - Cannot parse access token",
    )


def unknown_object(object_id: str, method: str = "get") -> GraphError:
    text = (
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation."
    )
    return GraphError(
        100, "Invalid parameter", text, subcode=33, message=text, error_type="GraphMethodException"
    )


def invalid_parameter(details: str) -> GraphError:
    return GraphError(100, "Invalid parameter", details)


def not_registered() -> GraphError:
    return GraphError(
        133010, "Account not registered", "This phone number is not registered on the Cloud API."
    )


def account_locked() -> GraphError:
    """The WABA is disabled (account_update DISABLED_UPDATE with ban state DISABLE)."""
    return GraphError(
        131031,
        "Business Account locked",
        "Your WhatsApp Business Account has been restricted or disabled for violating a platform policy.",
    )


def throughput_exceeded() -> GraphError:
    return GraphError(
        130429, "Rate limit hit", "Cloud API message throughput has been reached.", subcode=2494055
    )


def pair_rate_exceeded() -> GraphError:
    return GraphError(
        131056,
        "(Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number to the same "
        "phone number in a short period of time.",
    )


def window_closed() -> GraphError:
    return GraphError(
        131047,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied "
        "to this number.",
    )


def messaging_limit_reached(limit: int) -> GraphError:
    return GraphError(
        131048,
        "Spam rate limit hit",
        f"Message failed to send because the business portfolio has reached its messaging limit of {limit} "
        "unique users outside a customer service window in a moving 24 hours.",
    )


def recipient_is_sender() -> GraphError:
    return GraphError(131021, "Recipient cannot be sender", "Sender and recipient phone number is the same.")


def undeliverable() -> GraphError:
    return GraphError(
        131026,
        "Message undeliverable",
        "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone "
        "number; the recipient has not accepted the new Terms of Service; the recipient is using an old "
        "WhatsApp version.",
    )


def marketing_opted_out() -> GraphError:
    return GraphError(
        131050,
        "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on "
        "WhatsApp from your business",
        "The user has stopped marketing messages from this business.",
    )


def coexistence_refused(action: str) -> GraphError:
    return GraphError(
        100,
        "Invalid parameter",
        f"{action} is not available for a phone number in use with both the WhatsApp Business app and Cloud "
        "API (coexistence).",
    )


# -- customer service window and free entry point ------------------------------------------------
def window_open(world: World, number: Number, chat: Chat) -> bool:
    """Open only if the customer wrote within 24 h, and (coexistence) after onboarding."""
    last = chat.last_customer_message_at
    if last is None:
        return False
    if number.onboarded_at is not None and last < number.onboarded_at:
        return False
    return world.clock.now() < last + world.config.csw_seconds


def window_until(world: World, chat: Chat) -> float:
    last = chat.last_customer_message_at
    return (last or world.clock.now()) + world.config.csw_seconds


def fep_open(world: World, number: Number, chat: Chat, *, commit: bool = False) -> bool:
    """The 72 h free entry point window, opened by the first business reply to a CTWA message.

    It opens when the business first replies within 24 h of a customer message that carried a
    click-to-WhatsApp ``referral`` (received after onboarding), and lasts 72 h from that reply;
    ``commit=True`` records the reply. The send path owns this state
    (``rate_state.free_entry_points``), so a window set early on the chat by other code does not make
    messages free.
    """
    now = world.clock.now()
    opened = world.rate_state.free_entry_points
    key = (chat.phone_number_id, chat.wa_id)
    for msg in reversed(chat.messages):
        if msg.direction == "outbound" and msg.origin == "api" and key in opened:
            break
        if msg.direction == "inbound" and msg.origin == "customer" and msg.referral is not None:
            after_onboarding = number.onboarded_at is None or msg.timestamp >= number.onboarded_at
            fresh = now < msg.timestamp + world.config.csw_seconds
            current = opened.get(key)
            if after_onboarding and fresh and (current is None or current.source_wamid != msg.wamid):
                if not commit:
                    return True
                opened[key] = FreeEntryPoint(msg.wamid, now + world.config.fep_seconds)
                chat.fep_source_wamid = msg.wamid
                chat.fep_until = now + world.config.fep_seconds
            break
    found = opened.get(key)
    return found is not None and now < found.until


# -- rate limits --------------------------------------------------------------------------------
def throughput_of(world: World, number: Number) -> int:
    return world.config.coex_throughput if number.coexistence else world.config.default_throughput


def check_throughput(world: World, number: Number) -> None:
    """At most 20 sends (80 off coexistence) accepted in any one-second window, else 130429.

    A sliding window over the instants of accepted sends: a send at ``t`` is refused when the number
    already had ``throughput`` sends accepted in ``(t - 1 s, t]``.
    """
    rate = throughput_of(world, number)
    now = world.clock.now()
    recent = world.rate_state.recent_sends.setdefault(number.phone_number_id, deque())
    while recent and recent[0] <= now - 1.0:
        recent.popleft()
    if len(recent) >= rate:
        raise throughput_exceeded()
    recent.append(now)


def check_pair_rate(world: World, number: Number, wa_id: str) -> None:
    """About one message per 6 s to the same recipient, after a small burst (a token bucket)."""
    config = world.config
    capacity, per_second = float(config.pair_burst), 1.0 / config.pair_rate_interval
    now = world.clock.now()
    buckets = world.rate_state.pair_buckets
    bucket = buckets.setdefault((number.phone_number_id, wa_id), TokenBucket(capacity, now))
    bucket.tokens = min(capacity, bucket.tokens + max(0.0, now - bucket.at) * per_second)
    bucket.at = now
    if bucket.tokens < 1.0:
        raise pair_rate_exceeded()
    bucket.tokens -= 1.0


def check_messaging_limit(world: World, number: Number, wa_id: str, *, business_initiated: bool) -> None:
    """Portfolio-level limit on unique users reached outside a window in a moving 24 h."""
    if not business_initiated:
        return
    business = world.business_of(number)
    limit = business.messaging_limit
    seen = world.rate_state.reached.setdefault(business.id, {})
    now = world.clock.now()
    for user, at in list(seen.items()):
        if at <= now - 86400.0:
            del seen[user]
    if limit is not None and wa_id not in seen and len(seen) >= limit:
        raise messaging_limit_reached(limit)
    seen[wa_id] = now


# -- onboarding eligibility ---------------------------------------------------------------------
@dataclass(frozen=True)
class EligibilityError:
    code: str
    reason: str


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def check_onboarding_eligible(world: World, number: Number) -> EligibilityError | None:
    """Whether this Business app number may onboard to coexistence now (None = eligible)."""
    config = world.config
    if not number.on_biz_app or number.state == "API_ONLY":
        return EligibilityError(
            "api_only",
            "API-only numbers cannot onboard to the WhatsApp Business app; remove the number from the Cloud "
            "API and register it in the app first.",
        )
    if number.state == "CONNECTED":
        return EligibilityError("already_onboarded", "This number is already connected to the Cloud API.")
    if _version(number.app_version) < _version(config.min_app_version):
        return EligibilityError(
            "app_version",
            f"WhatsApp Business app {number.app_version} is older than {config.min_app_version}.",
        )
    if number.age_days < config.min_age_days:
        return EligibilityError(
            "too_new",
            f"The number has used the app for {number.age_days} days; at least {config.min_age_days} needed.",
        )
    if number.quality == "RED":
        return EligibilityError("quality", "The number's quality rating is RED.")
    if number.country_calling_code in config.blocked_country_codes:
        return EligibilityError(
            "country",
            f"Numbers with country code +{number.country_calling_code} cannot onboard to coexistence.",
        )
    return None
