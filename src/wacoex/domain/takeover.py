"""Human takeover: while the owner (or an operator) talks to a customer, bots stay quiet.

An echo (the owner typing in the WhatsApp Business app or a supported companion) puts the
conversation in human hands for `ttl` (30 minutes by default); each new echo starts the time again.
An operator may take a conversation until a given time through the API, and release it at any
time: a release wins over every echo older than it, so a late or replayed echo never takes the
conversation back. Optionally the customer's next message hands it back to the bot.

Everything here is computed from stored times, so no job has to run for a takeover to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Handler(StrEnum):
    BOT = "bot"
    HUMAN = "human"


class TakeoverCause(StrEnum):
    ECHO = "echo"  # the owner wrote from the phone or a companion device
    OPERATOR = "operator"  # taken through the API


@dataclass(frozen=True, slots=True)
class Takeover:
    handler: Handler
    cause: TakeoverCause | None = None
    since: int | None = None  # the echo that started the current human turn (None when taken by API)
    until: int | None = None  # when it ends by itself

    @property
    def human(self) -> bool:
        return self.handler is Handler.HUMAN

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.handler.value,
            "cause": self.cause.value if self.cause else None,
            "since": self.since,
            "until": self.until,
        }


@dataclass(frozen=True, slots=True)
class TakeoverTimes:
    """What the conversation row stores about takeover (epoch ms)."""

    last_echo_at: int | None
    takeover_until: int | None
    takeover_released_at: int | None
    last_customer_at: int | None = None


def release_mark(now: int, last_echo_at: int | None) -> int:
    """What a release stores: echoes from this time on take the conversation again.

    An echo's time has whole seconds only. Every echo known at the release is older than the mark,
    so replays and late copies of them never re-take; an echo in the second of the release that is
    newer than those counts as after it (when in doubt, the bots stay quiet).
    """
    return max(now - now % 1000, (last_echo_at or 0) + 1)


def newer_than_release(echo_at: int, released_at: int | None) -> bool:
    """Whether an echo came after the last release (`released_at` is its `release_mark`)."""
    return released_at is None or echo_at >= released_at


def takeover_of(times: TakeoverTimes, now: int, *, ttl_ms: int, resume_on_customer: bool = False) -> Takeover:
    released = times.takeover_released_at
    candidates: list[Takeover] = []
    # A release clears `takeover_until`, so a stored one is always newer than the last release.
    if times.takeover_until is not None and now < times.takeover_until:
        candidates.append(Takeover(Handler.HUMAN, TakeoverCause.OPERATOR, None, times.takeover_until))
    echo = times.last_echo_at
    if echo is not None and newer_than_release(echo, released) and now < echo + ttl_ms:
        answered = resume_on_customer and times.last_customer_at is not None and times.last_customer_at > echo
        if not answered:
            candidates.append(Takeover(Handler.HUMAN, TakeoverCause.ECHO, echo, echo + ttl_ms))
    if not candidates:
        return Takeover(Handler.BOT)
    return max(candidates, key=lambda t: t.until or 0)
