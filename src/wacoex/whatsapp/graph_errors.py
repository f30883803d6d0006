"""What a provider's failure means: Graph error codes, HTTP statuses and transport failures as classes.

Each class says whether a retry later can succeed with the request certainly not sent (`retryable`),
or whether the request may have been sent (`ambiguous`: it left and no readable answer came back;
the Cloud API has no idempotency key, so it is never resent automatically). Codes come from Meta's
error table; logic keys on the code, never on the title or `details` text (Meta rewords them).
"""

from __future__ import annotations

import contextlib
import email.utils
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from wacoex.errors import ProviderError

THROTTLE_NUMBER = "number"  # the number's throughput (130429): slow every send of the number
THROTTLE_PAIR = "pair"  # one recipient (131056): slow sends to that recipient only


@dataclass(frozen=True, slots=True)
class ErrorClass:
    """One kind of provider failure: a stable name, what it means, and what may be done about it."""

    name: str
    meaning: str
    retryable: bool = False
    ambiguous: bool = False
    throttle: str | None = None


_AUTH = ErrorClass("unauthorized", "the access token or API key is invalid or expired: register a new one")
_PERMISSION = ErrorClass("permission", "the token lacks a permission this call needs, or it was removed")
_INVALID = ErrorClass("invalid_request", "a parameter is missing, misspelt or invalid: fix the request")
_TEMPLATE = ErrorClass(
    "template", "the template does not match what the provider holds: fix it or its parameters"
)
_ACCOUNT = ErrorClass(
    "account", "the business account or number cannot send: fix it with Meta or the provider"
)
_TRANSIENT = ErrorClass("unavailable", "the provider is temporarily unavailable: retry later", retryable=True)

# Meta's synchronous error codes (Cloud API error table). A synchronous Graph error means no message
# was accepted, so `retryable` marks the codes where trying again later can succeed.
GRAPH_CODES: dict[int, ErrorClass] = {
    0: _AUTH,
    1: ErrorClass("invalid_request", "invalid request or possible server error: check the request"),
    2: _TRANSIENT,
    3: ErrorClass("permission", "capability or permission issue"),
    4: ErrorClass("rate_limited", "the app reached its API call rate limit: retry later", retryable=True),
    10: _PERMISSION,
    33: ErrorClass("account", "the business phone number has been deleted"),
    100: _INVALID,
    190: ErrorClass("unauthorized", "the access token has expired: register a new one"),
    368: ErrorClass("account", "the business account is restricted or disabled for a policy violation"),
    80007: ErrorClass("rate_limited", "the WhatsApp Business Account reached its rate limit", retryable=True),
    130403: ErrorClass("recipient", "the business has blocked this user"),
    130429: ErrorClass(
        "throughput",
        "the number's message throughput was reached: sends are slowed",
        retryable=True,
        throttle=THROTTLE_NUMBER,
    ),
    130472: ErrorClass("recipient", "not sent: the user is part of a marketing experiment"),
    130497: ErrorClass("account", "the business cannot message users in this country"),
    131000: ErrorClass("unknown", "unknown error at the provider: retry later", retryable=True),
    131005: _PERMISSION,
    131008: ErrorClass("invalid_request", "a required parameter is missing"),
    131009: ErrorClass("invalid_request", "a parameter value is invalid"),
    131016: _TRANSIENT,
    131021: ErrorClass("recipient", "the sender and the recipient are the same number"),
    131026: ErrorClass(
        "undeliverable",
        "unable to deliver: not a WhatsApp user, terms not accepted, or an old WhatsApp version",
    ),
    131031: ErrorClass("account", "the business account is locked or restricted"),
    131037: ErrorClass("account", "the number has no approved display name"),
    131042: ErrorClass("account", "a payment method problem on the business account"),
    131045: ErrorClass("account", "phone number registration error"),
    131047: ErrorClass(
        "window_closed",
        "more than 24 hours since the customer last wrote: only a template can be sent",
    ),
    131048: ErrorClass("spam_limited", "held back by the spam rate limit (message quality): send fewer"),
    131049: ErrorClass(
        "ecosystem_limited", "not delivered to keep engagement healthy: wait at least 24 hours"
    ),
    131050: ErrorClass("recipient", "the user stopped marketing messages from this business"),
    131051: ErrorClass("invalid_request", "unsupported message type"),
    131052: ErrorClass("media", "unable to download the media the user sent"),
    131053: ErrorClass("media", "unable to upload the media used in the message (type or size)"),
    131056: ErrorClass(
        "pair_rate",
        "too many messages to this recipient in a short time: sends to them are slowed",
        retryable=True,
        throttle=THROTTLE_PAIR,
    ),
    131057: ErrorClass("unavailable", "the account is in maintenance mode: retry later", retryable=True),
    131063: ErrorClass("template", "marketing templates are disabled on the Cloud API for this business"),
    131064: ErrorClass("account", "messaging limited for template classification violations"),
    132000: ErrorClass("template", "the number of template parameters does not match"),
    132001: ErrorClass("template", "the template does not exist in this language or is not approved"),
    132005: ErrorClass("template", "the translated text is too long"),
    132007: ErrorClass("template", "the template content violates a policy"),
    132012: ErrorClass("template", "a template parameter has the wrong format"),
    132015: ErrorClass("template", "the template is paused for low quality"),
    132016: ErrorClass("template", "the template is permanently disabled"),
    132018: _TEMPLATE,
    132068: ErrorClass("flow", "the flow is blocked"),
    132069: ErrorClass("flow", "the flow is throttled: at most 10 messages with it per hour"),
    133000: ErrorClass("account", "a previous deregistration failed"),
    133004: _TRANSIENT,
    133005: ErrorClass("account", "the two-step verification PIN is incorrect"),
    133006: ErrorClass("account", "the number must be verified before registering"),
    133008: ErrorClass("account", "too many PIN guesses: try later"),
    133009: ErrorClass("account", "PIN entered too quickly: try later"),
    133010: ErrorClass("account", "the number is not registered on the Cloud API"),
    133015: ErrorClass("account", "the number was recently deleted: wait 5 minutes"),
    133016: ErrorClass("account", "register/deregister rate limit reached: try later"),
    134011: ErrorClass("account", "the WhatsApp Payments terms are not accepted"),
    135000: ErrorClass("invalid_request", "unknown error with the request parameters"),
    2388019: ErrorClass("template", "the WABA's template limit (250) is reached"),
    2593107: ErrorClass(
        "sync_refused", "the coexistence sync was already requested for this number: re-onboard"
    ),
    2593108: ErrorClass(
        "sync_refused", "the coexistence sync is only allowed within 24 h of onboarding: re-onboard"
    ),
    2593109: ErrorClass("sync_refused", "the business turned history sharing off"),
    131030: ErrorClass(
        "recipient", "the recipient is not in the allowed list (test number or app in development)"
    ),
}
# 200-299: API permission not granted or removed (200 on some GETs: no access token).
_PERMISSION_RANGE = range(200, 300)

# Answers without a Graph error code (360dialog's own errors, proxies), by HTTP status.
_HTTP_CLASSES: dict[int, ErrorClass] = {
    401: ErrorClass("unauthorized", "the provider refused the credentials (Meta token or 360dialog API key)"),
    403: ErrorClass("permission", "the provider refused this call (endpoint blocked or no permission)"),
    404: ErrorClass("not_found", "the provider does not know this object or path"),
    429: ErrorClass(
        "throughput",
        "the provider's rate limit was hit: sends are slowed",
        retryable=True,
        throttle=THROTTLE_NUMBER,
    ),
}
_SERVER = ErrorClass("unavailable", "the provider answered with a server error: retry later", retryable=True)
_OTHER = ErrorClass("rejected", "the provider rejected the request")

# Transport failures: did the request leave?
NOT_SENT = ErrorClass("unreachable", "the provider could not be reached: nothing was sent", retryable=True)
NO_ANSWER = ErrorClass(
    "no_answer",
    "the request left but no answer came back: it may have been sent (never resent automatically)",
    ambiguous=True,
)
READ_UNANSWERED = ErrorClass(
    "no_answer", "a read got no answer (timeout or dropped connection): retry later", retryable=True
)
UNREADABLE = ErrorClass(
    "unreadable_answer",
    "the provider answered something we cannot read: the message may have been sent",
    ambiguous=True,
)
BAD_URL = ErrorClass("configuration", "the provider URL cannot be used (check WACOEX_GRAPH_BASE_URL)")


def classify(code: int | None, http_status: int | None) -> ErrorClass:
    """The class of an error answer: by its Graph code when known, else by its HTTP status."""
    if code is not None:
        known = GRAPH_CODES.get(code)
        if known is not None:
            return known
        if code in _PERMISSION_RANGE:
            return _PERMISSION
    if http_status is not None:
        if http_status in _HTTP_CLASSES:
            return _HTTP_CLASSES[http_status]
        if http_status >= 500:
            return _SERVER
    return _OTHER


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` in seconds (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    with contextlib.suppress(ValueError):
        return max(0.0, float(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_for_answer(
    status: int, content: bytes, retry_after: str | None, *, idempotent: bool
) -> ProviderError:
    """A non-2xx answer as a ProviderError carrying the provider's body to relay."""
    body: Any = None
    with contextlib.suppress(orjson.JSONDecodeError):
        body = orjson.loads(content) if content else None
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    kind = classify(code, status)
    # A gateway timeout means the request reached something that gave up waiting for the platform.
    if status == 504 and not idempotent:
        kind = NO_ANSWER
    said = error.get("message") if isinstance(error.get("message"), str) else None
    if said is None and isinstance(body, dict) and isinstance(body.get("meta"), dict):
        said = body["meta"].get("developer_message")  # 360dialog's own error shape
    label = f"Graph error {code}, HTTP {status}" if code is not None else f"HTTP {status}"
    return provider_error(
        kind,
        f"{said or kind.meaning} ({label})",
        graph_code=code,
        http_status=status,
        body=body,
        retry_after=retry_after_seconds(retry_after),
    )


def error_for_transport(exc: httpx.TransportError | httpx.InvalidURL, *, idempotent: bool) -> ProviderError:
    """A request that got no HTTP answer: whether it left decides retryable versus ambiguous."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        kind = NOT_SENT
    elif isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        kind = BAD_URL
    elif idempotent:  # a read that timed out or dropped: safe to ask again
        kind = READ_UNANSWERED
    else:
        kind = NO_ANSWER
    reason = type(exc).__name__ + (f": {exc}" if str(exc) else "")
    return provider_error(kind, f"{kind.meaning} ({reason})")


def provider_error(
    kind: ErrorClass,
    message: str,
    *,
    graph_code: int | None = None,
    http_status: int | None = None,
    body: Any = None,
    retry_after: float | None = None,
) -> ProviderError:
    return ProviderError(
        message,
        graph_code=graph_code,
        http_status=http_status,
        retryable=kind.retryable,
        ambiguous=kind.ambiguous,
        body=body,
        error=kind.name,
        meaning=kind.meaning,
        throttle=kind.throttle,
        retry_after=retry_after,
    )
