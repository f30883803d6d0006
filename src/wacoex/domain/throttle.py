"""Pacing sends on a given clock: a number's exact per-second limit and the pair rate per recipient.

Both hand out *slots* (the time a send may leave) in the order they are asked for, so a caller
reserves its slot under a lock and waits outside it. Pure: time is always passed in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable


class SendWindow:
    """Never more than `limit` sends in any `window` seconds (a sliding log, exact), slots in order.

    A token bucket only bounds the average; this bounds every window: a send may leave once the
    `limit`-th send before it is `window` seconds old. Backlogged, it sends exactly `limit` per window.
    Windows are half-open: sends at t and t + window are in different windows.

    The provider counts a send when it handles it, which is after it left: a send is recorded at its
    slot, and `settle` moves it to when its answer came back (no later than the provider handled it).
    Counting the `limit`-th send before from its answer keeps the limit on the provider's clock too,
    whatever the delays between a slot and the request reaching the provider.
    """

    def __init__(self, limit: int, window: float = 1.0) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a send window needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._sent: deque[list[float]] = deque(maxlen=limit)  # the last `limit` sends: [time, ticket]
        self._tickets = 0
        self._last_slot = float("-inf")

    @classmethod
    def for_rate(cls, rate: float, window: float = 1.0) -> SendWindow:
        """`rate` sends per second: its whole part per window; below 1/s, one per 1/rate seconds."""
        if rate <= 0:
            raise ValueError("a send rate must be positive")
        if rate >= 1:
            return cls(int(rate), window)
        return cls(1, window / rate)

    def next_slot(self, now: float) -> float:
        """The earliest time, not before `now`, at which the next send may leave."""
        slot = max(now, self._last_slot)
        if len(self._sent) == self.limit:
            slot = max(slot, self._sent[0][0] + self.window)
        return slot

    def take(self, at: float) -> int:
        """Record a send at `at`, which must be a slot `next_slot` allows; its ticket for `settle`."""
        if at < self.next_slot(at):
            raise ValueError("that slot would break the send window")
        self._tickets += 1
        self._sent.append([at, float(self._tickets)])
        self._last_slot = at
        return self._tickets

    def settle(self, ticket: int, at: float) -> None:
        """The send's answer came back at `at`: count it from then (if it is still in the log)."""
        for entry in self._sent:
            if entry[1] == ticket:
                entry[0] = max(entry[0], at)
                return

    def reserve(self, now: float) -> float:
        """The next slot, taken."""
        slot = self.next_slot(now)
        self.take(slot)
        return slot


class PairPacer:
    """Per recipient: `burst` sends at once, then one per `interval` seconds (GCRA; WhatsApp's pair rate).

    Equivalent to a bucket of `burst` tokens refilled one per `interval`; a recipient not written to
    for `burst * interval` seconds is forgotten.
    """

    def __init__(self, interval: float, burst: int) -> None:
        if burst < 1 or interval < 0:
            raise ValueError("a pair pacer needs burst >= 1 and interval >= 0")
        self.interval = interval
        self.burst = burst
        self._tolerance = (burst - 1) * interval
        self._due: dict[Hashable, float] = {}  # theoretical arrival time per recipient
        self._sweep_at = 1024

    def next_slot(self, recipient: Hashable, now: float) -> float:
        due = self._due.get(recipient)
        return now if due is None else max(now, due - self._tolerance)

    def take(self, recipient: Hashable, at: float) -> None:
        if at < self.next_slot(recipient, at):
            raise ValueError("that slot would break the pair rate")
        self._due[recipient] = max(self._due.get(recipient, at), at) + self.interval
        if len(self._due) >= self._sweep_at:
            self._forget(at)

    def reserve(self, recipient: Hashable, now: float) -> float:
        slot = self.next_slot(recipient, now)
        self.take(recipient, slot)
        return slot

    def __len__(self) -> int:
        return len(self._due)

    def _forget(self, now: float) -> None:
        """Drop recipients whose bucket is full again (amortised: the sweep threshold doubles)."""
        self._due = {key: due for key, due in self._due.items() if due > now}
        self._sweep_at = max(1024, 2 * len(self._due))
