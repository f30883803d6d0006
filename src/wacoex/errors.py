"""The one error tree of wacoex. The web layer maps these to HTTP statuses in web/errors.py.

WacoexError
├── ConfigError                 settings that cannot work (default secrets outside --dev, ...)
├── DatabaseUnavailable         the database does not exist or has no (current) wacoex schema
├── NotFound                    a number, conversation, message or receipt that does not exist
├── Conflict                    the request clashes with existing state (duplicate number, ...)
├── InvalidInput                the caller sent something we cannot accept
├── Unauthorized                missing or wrong credentials
├── Forbidden                   valid credentials without the right (role, another workspace's number)
├── Refused                     a send the rules forbid (window closed, human takeover, ...): stable code
├── PayloadError                a webhook body we could not interpret (kept and parked)
└── ProviderError               Meta/360dialog answered with an error (retryable / ambiguous flags)
"""

from __future__ import annotations


class WacoexError(Exception):
    """Base of every error wacoex raises on purpose."""

    code: str = "error"

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigError(WacoexError):
    code = "config_error"


class NotConfigured(WacoexError):
    """A feature this gateway was not configured for (onboarding without the Meta app's id, say)."""

    code = "not_configured"


class DatabaseUnavailable(WacoexError):
    """Raised where nothing may be created or migrated (read-only commands)."""

    code = "database_unavailable"


class NotFound(WacoexError):
    code = "not_found"


class Conflict(WacoexError):
    code = "conflict"


class InvalidInput(WacoexError):
    code = "invalid_input"


class Unauthorized(WacoexError):
    code = "unauthorized"


class Forbidden(WacoexError):
    code = "forbidden"


class Refused(WacoexError):
    """A send (or other action) that WhatsApp's rules or the number's state forbid right now.

    `code` is stable per reason (`window_closed`, `human_takeover`, `number_disconnected`,
    `template_unknown`, ...); `graph_code` is the Cloud API error code Meta would have answered for the
    same refusal (131047 for a closed window), so the Graph-compatible proxy answers in Meta's shape.
    """

    code = "refused"

    def __init__(
        self, message: str = "", *, code: str, graph_code: int | None = None, **details: object
    ) -> None:
        super().__init__(message, **details)
        self.code = code
        self.graph_code = graph_code


class PayloadError(WacoexError):
    code = "payload_error"


class ProviderError(WacoexError):
    """An error answered by the Graph API or 360dialog.

    `retryable`: certainly not sent, safe to retry later. `ambiguous`: may or may not have been sent.
    """

    code = "provider_error"

    def __init__(
        self,
        message: str = "",
        *,
        graph_code: int | None = None,
        http_status: int | None = None,
        retryable: bool = False,
        ambiguous: bool = False,
        **details: object,
    ) -> None:
        super().__init__(message, **details)
        self.graph_code = graph_code
        self.http_status = http_status
        self.retryable = retryable
        self.ambiguous = ambiguous
