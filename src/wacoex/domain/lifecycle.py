"""A number's lifecycle and its history import: states, the transition tables, and the rules.

The store only compares and sets (`state` moves only from one of the states these rules allow);
which state follows which, and which event is too old to apply, is decided here.
"""

from __future__ import annotations

from enum import StrEnum


class NumberState(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    OFFBOARDED = "offboarded"


# account_update events that move a number, and where to. Others (PARTNER_APP_INSTALLED, ...) are
# kept as account events and change no state.
NUMBER_TRANSITIONS: dict[str, NumberState] = {
    "PARTNER_REMOVED": NumberState.DISCONNECTED,
    "ACCOUNT_OFFBOARDED": NumberState.OFFBOARDED,
    "ACCOUNT_DELETED": NumberState.OFFBOARDED,
    "ACCOUNT_RECONNECTED": NumberState.CONNECTED,
}


def next_state(event: str, occurred_at: int, state_changed_at: int | None) -> NumberState | None:
    """The state `event` (at `occurred_at`, ms) moves a number to; None if it moves none.

    Stale events are fenced: one older than the event that set the current state changes nothing
    (webhooks arrive out of order; Meta's time orders them).
    """
    target = NUMBER_TRANSITIONS.get(event)
    if target is None:
        return None
    if state_changed_at is not None and occurred_at < state_changed_at:
        return None
    return target


class HistoryState(StrEnum):
    NONE = "none"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    DECLINED = "declined"


# The states each history state may be entered from: none -> in_progress -> complete | declined.
# complete and declined are final and exclude each other: a late chunk or a repeated webhook
# changes nothing, and neither does a decline after completion.
HISTORY_FROM: dict[HistoryState, tuple[HistoryState, ...]] = {
    HistoryState.IN_PROGRESS: (HistoryState.NONE,),
    HistoryState.COMPLETE: (HistoryState.NONE, HistoryState.IN_PROGRESS),
    HistoryState.DECLINED: (HistoryState.NONE, HistoryState.IN_PROGRESS),
}


def history_after_chunk(progress: int | None, declined: bool) -> HistoryState:
    """The history state a chunk asks for (it moves there only from HISTORY_FROM's states)."""
    if declined:
        return HistoryState.DECLINED
    if progress is not None and progress >= 100:
        return HistoryState.COMPLETE
    return HistoryState.IN_PROGRESS
