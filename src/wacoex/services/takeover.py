"""Human takeover of a conversation: its state, taking and releasing it, and its events.

The state is computed from stored times (domain/takeover.py), so it is always right without any job;
`TakeoverEvents` only records `conversation.takeover_started` / `_ended` when a state changed by
itself (an echo arrived, the time ran out, the customer wrote).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wacoex.domain.access import Principal
from wacoex.domain.events import TakeoverEnded, TakeoverStarted
from wacoex.domain.takeover import Takeover, TakeoverCause, TakeoverTimes, release_mark, takeover_of
from wacoex.domain.window import Window, window_of
from wacoex.errors import Forbidden, InvalidInput, NotFound
from wacoex.services.ports import EventRow
from wacoex.services.takeover_port import TakeoverRow, TakeoverStore

MAX_TAKE_MINUTES = 7 * 24 * 60


@dataclass(frozen=True, slots=True)
class ConversationControl:
    """Who handles a conversation now, and whether free-form messages may be sent to it."""

    takeover: Takeover
    window: Window


class Takeovers:
    def __init__(
        self,
        store: TakeoverStore,
        clock: Callable[[], int],
        *,
        ttl_ms: int,
        resume_on_customer: bool = False,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ttl_ms = ttl_ms
        self._resume = resume_on_customer

    def _row(self, who: Principal, conversation_id: int) -> TakeoverRow:
        row = self._store.get(conversation_id)
        if row is None or not who.sees(row.workspace_id):
            raise NotFound(f"conversation {conversation_id} does not exist")
        return row

    def state_of(self, row: TakeoverRow, now: int | None = None) -> ConversationControl:
        now = self._clock() if now is None else now
        takeover = takeover_of(_times(row), now, ttl_ms=self._ttl_ms, resume_on_customer=self._resume)
        window = window_of(
            last_customer_at=row.last_customer_at,
            window_closed_at=row.window_closed_at,
            fep_expires_at=row.fep_expires_at,
            now=now,
        )
        return ConversationControl(takeover, window)

    def state(self, who: Principal, conversation_id: int) -> ConversationControl:
        return self.state_of(self._row(who, conversation_id))

    def take(self, who: Principal, conversation_id: int, minutes: float | None = None) -> ConversationControl:
        """An operator takes the conversation (bots are then refused) for `minutes` (default: the TTL)."""
        if who.is_bot or not who.can_send:
            raise Forbidden("only operator and admin keys can take a conversation over")
        row = self._row(who, conversation_id)
        ttl = self._ttl_ms if minutes is None else int(minutes * 60_000)
        if not 0 < ttl <= MAX_TAKE_MINUTES * 60_000:
            raise InvalidInput(f"minutes must be between 0 and {MAX_TAKE_MINUTES}")
        now = self._clock()
        until = now + ttl
        event = TakeoverStarted(
            phone_number_id=row.phone_number_id,
            conversation_id=row.conversation_id,
            cause=TakeoverCause.OPERATOR.value,
            since=now,
            until=until,
        )
        self._store.write(
            row.conversation_id,
            {"takeover_until": until, "takeover_announced_at": now},
            [EventRow(event, row.number_id, row.conversation_id)],
            now,
        )
        return self.state(who, conversation_id)

    def release(self, who: Principal, conversation_id: int) -> ConversationControl:
        """Hand the conversation back to the bot; echoes older than now never take it again."""
        if who.is_bot or not who.can_send:
            raise Forbidden("only operator and admin keys can release a conversation")
        row = self._row(who, conversation_id)
        now = self._clock()
        was = self.state_of(row, now).takeover
        rows = []
        if was.human:
            event = TakeoverEnded(
                phone_number_id=row.phone_number_id, conversation_id=row.conversation_id, reason="released"
            )
            rows.append(EventRow(event, row.number_id, row.conversation_id))
        self._store.write(
            row.conversation_id,
            {
                "takeover_released_at": release_mark(now, row.last_echo_at),
                "takeover_until": None,
                "takeover_ended_at": now,
            },
            rows,
            now,
        )
        return self.state(who, conversation_id)

    def announce(self, limit: int = 500) -> int:
        """Record the takeovers that started or ended by themselves since the last call; how many."""
        now = self._clock()
        recorded = 0
        for row in self._store.candidates(now, self._ttl_ms, limit):
            takeover = self.state_of(row, now).takeover
            announced, ended = row.announced_at or 0, row.ended_at or 0
            values: dict[str, int] = {}
            rows: list[EventRow] = []
            echo = row.last_echo_at or 0
            if takeover.human and takeover.cause is TakeoverCause.ECHO and echo > announced:
                if announced <= ended:  # not already in a recorded takeover: a new one starts
                    rows.append(
                        EventRow(
                            TakeoverStarted(
                                phone_number_id=row.phone_number_id,
                                conversation_id=row.conversation_id,
                                cause=TakeoverCause.ECHO.value,
                                since=takeover.since,
                                until=takeover.until,
                            ),
                            row.number_id,
                            row.conversation_id,
                        )
                    )
                values["takeover_announced_at"] = echo
            elif not takeover.human and announced > ended:
                customer = row.last_customer_at or 0
                reason = (
                    "customer"
                    if self._resume and customer > echo and echo + self._ttl_ms > now
                    else "expired"
                )
                rows.append(
                    EventRow(
                        TakeoverEnded(
                            phone_number_id=row.phone_number_id,
                            conversation_id=row.conversation_id,
                            reason=reason,
                        ),
                        row.number_id,
                        row.conversation_id,
                    )
                )
                values["takeover_ended_at"] = now
            elif not takeover.human and echo > announced:
                values["takeover_announced_at"] = echo  # an old echo (before a release): nothing to say
                values["takeover_ended_at"] = now
            if values or rows:
                self._store.write(row.conversation_id, values, rows, now)
                recorded += len(rows)
        return recorded


class TakeoverEvents:
    """The job that records takeover starts and ends nobody asked for (echoes, timers)."""

    name = "takeover"

    def __init__(self, takeovers: Takeovers) -> None:
        self._takeovers = takeovers

    def run_once(self) -> bool:
        return self._takeovers.announce() > 0


def _times(row: TakeoverRow) -> TakeoverTimes:
    return TakeoverTimes(
        last_echo_at=row.last_echo_at,
        takeover_until=row.takeover_until,
        takeover_released_at=row.takeover_released_at,
        last_customer_at=row.last_customer_at,
    )
