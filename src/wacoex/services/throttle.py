"""Pacing of sends shared by every thread of a process: per number a send window, per recipient a pair pacer.

A caller asks for its turn (`acquire`), waits at most `max_wait` seconds for it, and is refused
(`throttled`) rather than made to wait longer. After the provider answered 130429 or 131056 the
number (`penalize`) or the recipient (`penalize_pair`) is held back for a while.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from wacoex.config import Settings
from wacoex.domain.throttle import PairPacer, SendWindow
from wacoex.errors import Refused
from wacoex.services.ports import NumberRef

# Added to the pair interval: a send paced exactly at the boundary can reach the provider a few
# milliseconds early (scheduling, network) and count in the interval before. The number's window needs
# none: a send counts there from its answer (`settle`), which is never before the provider had it.
JITTER_MARGIN_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class Ticket:
    """A send's turn: `settle` it when the provider answered."""

    key: str
    window: SendWindow
    number: int
    waited: float  # seconds it waited for its turn


def send_rate(settings: Settings, number: NumberRef) -> float:
    """The number's sends per second: its own setting, else 20 on coexistence numbers, 80 otherwise."""
    if number.send_rate is not None and number.send_rate > 0:
        return number.send_rate
    return settings.send_rate_coexistence if number.coexistence else settings.send_rate_default


class Throttle:
    """Thread-safe: slots are reserved under one lock, the waiting happens outside it."""

    def __init__(
        self,
        *,
        pair_interval: float,
        pair_burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = JITTER_MARGIN_SECONDS,
    ) -> None:
        self._pair_interval = pair_interval + margin if pair_interval > 0 else 0.0
        self._pair_burst = pair_burst
        self._window = 1.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._windows: dict[str, SendWindow] = {}
        self._rates: dict[str, float] = {}
        self._pairs: dict[str, PairPacer] = {}
        self._held: dict[str, float] = {}  # number -> no send before this time
        self._pairs_held: dict[tuple[str, str], float] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        return cls(pair_interval=settings.pair_interval_seconds, pair_burst=settings.pair_burst)

    def acquire(self, number_key: str, rate: float, recipient: str | None, max_wait: float) -> Ticket:
        """Block until a send of the number (to `recipient`) may leave; its ticket for `settle`.

        Raises Refused(code="throttled") without waiting when the turn is more than `max_wait` away:
        graph_code 130429 when the number's rate is the cause, 131056 when the recipient's pair rate is.
        """
        start = self._clock()
        if recipient is not None:
            with self._lock:
                now = self._clock()
                pacer = self._pairs.setdefault(number_key, PairPacer(self._pair_interval, self._pair_burst))
                held = self._pairs_held.get((number_key, recipient), now)
                slot = max(pacer.next_slot(recipient, now), held)
                self._refuse_beyond(slot, now, start + max_wait, "pair")
                # The number's turn as it looks from the pair's: refused before the pair slot is spent.
                self._refuse_beyond(self._number_slot(number_key, rate, slot), now, start + max_wait)
                pacer.take(recipient, slot)
            self._wait_until(slot)
        with self._lock:
            now = self._clock()
            slot = self._number_slot(number_key, rate, now)
            self._refuse_beyond(slot, now, start + max_wait, "number")
            window = self._windows[number_key]
            taken = window.take(slot)
        self._wait_until(slot)
        return Ticket(number_key, window, taken, max(0.0, self._clock() - start))

    def settle(self, ticket: Ticket) -> None:
        """The send's answer (or error) came back: it counts from now in the number's window."""
        with self._lock:
            ticket.window.settle(ticket.number, self._clock())

    def penalize(self, number_key: str, seconds: float) -> None:
        """The provider said the number's throughput was hit: no send of it for `seconds`."""
        with self._lock:
            until = self._clock() + max(0.0, seconds)
            self._held[number_key] = max(self._held.get(number_key, until), until)

    def penalize_pair(self, number_key: str, recipient: str, seconds: float) -> None:
        """The provider said the pair rate was hit: nothing to this recipient for `seconds`."""
        with self._lock:
            now = self._clock()
            until = now + max(0.0, seconds)
            key = (number_key, recipient)
            self._pairs_held[key] = max(self._pairs_held.get(key, until), until)
            if len(self._pairs_held) > 1024:
                self._pairs_held = {k: t for k, t in self._pairs_held.items() if t > now}

    # -- under the lock -------------------------------------------------------------------------
    def _number_slot(self, number_key: str, rate: float, now: float) -> float:
        window = self._windows.get(number_key)
        if window is None or self._rates.get(number_key) != rate:
            # A new rate starts a new log: the sends just before the change are not counted again.
            window = self._windows[number_key] = SendWindow.for_rate(rate, self._window)
            self._rates[number_key] = rate
        return window.next_slot(max(now, self._held.get(number_key, now)))

    def _refuse_beyond(self, slot: float, now: float, deadline: float, cause: str = "number") -> None:
        if slot <= max(deadline, now):  # a turn that is already here never waits, whatever max_wait
            return
        pair = cause == "pair"
        raise Refused(
            "too many messages to this recipient in a short time: try again later"
            if pair
            else "the number's send rate is reached: try again later",
            code="throttled",
            graph_code=131056 if pair else 130429,
            throttle=cause,
            retry_after=round(slot - now, 3),
        )

    def _wait_until(self, slot: float) -> None:
        delay = slot - self._clock()
        if delay > 0:
            self._sleep(delay)
