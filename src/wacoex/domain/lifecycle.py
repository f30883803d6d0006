"""A number's lifecycle and its history import: states, the transition tables, and the rules.

The store only compares and sets (`state` moves only from one of the states these rules allow);
which state follows which, and which event is too old to apply, is decided here.
"""

from __future__ import annotations

from enum import StrEnum

# A number's last webhook is kept to the minute: marking every webhook would rewrite the number's row
# each time, and the workers applying its webhooks would wait on one another for it.
WEBHOOK_SEEN_GRAIN_MS = 60_000


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


class StateMove(StrEnum):
    """What setting a number's state did."""

    FENCED = "fenced"  # a newer event had set the state: nothing changed
    SAME = "same"  # applied (its time is now the state's), but state, reason and initiator were so already
    CHANGED = "changed"


# The `event` of a number.state_changed that wacoex itself caused: the number was onboarded again
# through it (Embedded Signup, the command, 360dialog) before Meta's ACCOUNT_RECONNECTED arrived.
ONBOARDED = "ONBOARDED"


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


# disconnection_info.reason of PARTNER_REMOVED, for a person.
DISCONNECTION_REASONS: dict[str, str] = {
    "ACCOUNT_DISCONNECTED": (
        "the owner disconnected the number in the WhatsApp Business app (Settings > Account > Business "
        "Platform), or Meta disconnected it (enforcement, or the WhatsApp account was deleted)."
    ),
    "BUSINESS_DOWNGRADE": "the owner registered the number with the consumer WhatsApp app.",
    "CHANGE_NUMBER": "the owner changed the phone number in the WhatsApp Business app.",
    "COMPANION_INACTIVITY": "a linked companion device was inactive for about 30 days.",
    "PRIMARY_INACTIVITY": (
        "the WhatsApp Business app on the owner's phone was not opened for about 14 days."
    ),
    "USER_RE_REGISTERED": "the owner registered the number again on a new device.",
}

_INITIATED_BY = {"USER": "by the owner", "SYSTEM": "by WhatsApp"}


def explain_disconnection(reason: str | None, initiated_by: str | None) -> str:
    """PARTNER_REMOVED's `disconnection_info` in plain words (one sentence)."""
    who = _INITIATED_BY.get(initiated_by or "")
    if reason is None:
        why = (
            "Meta did not say why (no disconnection_info: the number may not have been a coexistence number)."
        )
    else:
        why = DISCONNECTION_REASONS.get(reason, f"for a reason wacoex does not know ({reason}).")
    return (
        f"{why[:1].upper()}{why[1:]}" if who is None else f"{why[:1].upper()}{why[1:-1]} (initiated {who})."
    )


def explain_state(state: str, reason: str | None, initiated_by: str | None) -> str:
    """A number's state, and why it is in it, in plain words."""
    if state == NumberState.CONNECTED:
        return "Connected to the Cloud API: messages can be sent and webhooks arrive."
    if state == NumberState.DISCONNECTED:
        return (
            "Disconnected from the Cloud API; sends are refused until the number is onboarded again. "
            + explain_disconnection(reason, initiated_by)
        )
    if state == NumberState.OFFBOARDED:
        return (
            "Offboarded from the Cloud API (re-registered or deleted); sends are refused until the number "
            "is onboarded again."
        )
    return f"In the unknown state {state!r}."


HISTORY_EXPLAINED: dict[str, str] = {
    HistoryState.NONE: "No history received: not requested yet, or Meta has not sent any.",
    HistoryState.IN_PROGRESS: "The app's chat history is being imported.",
    HistoryState.COMPLETE: "The app's chat history was imported.",
    HistoryState.DECLINED: "The owner declined to share the app's chat history (error 2593109).",
}

COMPANIONS_EXPLAINED = (
    "Up to four companion devices can be linked to a coexistence number; WhatsApp for Windows and for "
    "WearOS are not supported, and every companion is unlinked at onboarding (the supported ones can be "
    "linked again). Messages the owner types on a companion reach the gateway as echoes like the "
    "phone's; on an unsupported one they may not, and a customer who writes from an unsupported "
    "companion may not reach the Cloud API at all: those conversations can miss messages here."
)

SWITCH_BACK = """\
To go back to the WhatsApp Business app alone (no Cloud API):

1. On the phone, open the WhatsApp Business app: Settings > Account > Business Platform >
   Disconnect Account, and confirm.
2. Meta sends PARTNER_REMOVED (reason ACCOUNT_DISCONNECTED): wacoex marks the number disconnected,
   refuses sends for it, and raises a connection alert. Nothing else is needed here.

What is kept: every conversation, message, status, contact name and media file wacoex recorded stays,
readable through the API, and the number stays registered (its token is kept encrypted). The app
keeps its chats, including the messages sent through the API.

What is lost: messages written after the disconnection no longer reach wacoex, and the contacts and
history syncs, used or not, belong to the onboarding that ended. To use the Cloud API again, onboard
the number again (a new Embedded Signup): it reconnects with two fresh one-shot syncs.
"""
