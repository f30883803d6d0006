"""Enumerations from Meta's vocabulary; unknown values fall back to UNKNOWN instead of raising."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class _Open(StrEnum):
    """A StrEnum that maps values it does not know to UNKNOWN (Meta adds values without notice)."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            lowered = value.lower()
            for member in cls:
                if member.value == lowered:
                    return member
        return cls.__members__.get("UNKNOWN")


class Direction(_Open):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    UNKNOWN = "unknown"


class Origin(_Open):
    """Who wrote a message: the customer, our API side, the owner on the phone, or imported history."""

    CUSTOMER = "customer"
    API = "api"
    BUSINESS_APP = "business_app"
    HISTORY = "history"
    UNKNOWN = "unknown"


class MessageStatus(_Open):
    """Delivery status, ordered by STATUS_RANK; `failed` is terminal; `accepted` is ours (API 200)."""

    ACCEPTED = "accepted"
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"
    ERROR = "error"
    RECEIVED = "received"
    UNKNOWN = "unknown"


STATUS_RANK: dict[MessageStatus, int] = {
    MessageStatus.UNKNOWN: 0,
    MessageStatus.ACCEPTED: 1,
    MessageStatus.PENDING: 2,
    MessageStatus.SENT: 3,
    MessageStatus.DELIVERED: 4,
    MessageStatus.READ: 5,
    MessageStatus.PLAYED: 6,
    MessageStatus.RECEIVED: 6,
    MessageStatus.ERROR: 7,
    MessageStatus.FAILED: 7,
}


class ContactAction(_Open):
    ADD = "add"
    REMOVE = "remove"
    UNKNOWN = "unknown"


class Provider(_Open):
    META = "meta"
    DIALOG360 = "360dialog"
    UNKNOWN = "unknown"


class NumberState(_Open):
    """Lifecycle of a served number."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    OFFBOARDED = "offboarded"
    UNKNOWN = "unknown"
