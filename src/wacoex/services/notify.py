"""Wake-ups: how whoever makes work (a stored receipt, an applied one) tells an idle loop at once.

`Notifier` is the port; `Wakeup` is the in-process one a loop waits on. A `WakeSource` carries
wake-ups from other processes into a `Wakeup` (on PostgreSQL, LISTEN/NOTIFY: store/notify.py).
Without one, a loop in another process still finds the work at its next poll.
"""

from __future__ import annotations

import threading
from typing import Protocol


class Notifier(Protocol):
    """Says "there may be work"; cheap, never blocks, may be called from any thread."""

    def notify(self) -> None: ...


class WakeSource(Protocol):
    """Forwards wake-ups from outside this process while started."""

    def start(self) -> None:
        """Returns once wake-ups sent from now on are received (no gap between start and listening)."""
        ...

    def stop(self) -> None: ...


class Wakeup:
    """An in-process `Notifier` that one loop waits on."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def notify(self) -> None:
        self._event.set()

    # threading.Event's spelling, which the REST API's replay calls.
    set = notify

    def wait(self, timeout: float | None) -> bool:
        """Wait up to `timeout` seconds for a notification; True if one came (or was pending).

        Clearing after the wait loses nothing: a notification sent before the clear is followed by
        the round the waiter runs next, and that round sees the work the notification was about.
        """
        woke = self._event.wait(timeout)
        self._event.clear()
        return woke
