"""The worker layer: a job does one round of work; a `Loop` runs it in a thread until stopped.

Every background task (applying receipts, fetching media, and later sends and deliveries) is a
job. The loop gives them all the same behaviour: run again at once while there is work, wait for
a wake-up (or the idle timeout) when there is none, back off exponentially when a round raises,
and on `stop()` let the round in flight finish before the thread ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from wacoex.services.notify import WakeSource, Wakeup

log = logging.getLogger("wacoex.jobs")


class Job(Protocol):
    """One kind of background work."""

    @property
    def name(self) -> str: ...

    def run_once(self) -> bool:
        """Do one round; True if it did any work (the loop then runs it again at once)."""
        ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits after consecutive failed rounds: initial, initial × factor, … up to `cap` seconds."""

    initial: float = 0.25
    factor: float = 2.0
    cap: float = 10.0

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th failure in a row (1 for the first)."""
        return float(min(self.cap, self.initial * self.factor ** max(failures - 1, 0)))


class Loop:
    """Runs `job` in a thread of its own: `start()`, `wake()`, `stop(timeout)`."""

    def __init__(
        self,
        job: Job,
        *,
        idle_seconds: float = 1.0,
        wakeup: Wakeup | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.job = job
        self.idle_seconds = idle_seconds
        # Whoever has news for this job (a stored receipt, an applied one) notifies this.
        self.wakeup = wakeup if wakeup is not None else Wakeup()
        self.backoff = backoff or Backoff()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0  # rounds finished, with or without work (for tests and diagnostics)
        self.failures = 0  # consecutive failed rounds

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"wacoex-{self.name}", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self.wakeup.notify()

    def request_stop(self) -> None:
        """Ask the loop to end after the round in flight; returns at once (safe in a signal handler)."""
        self._stopping.set()
        self.wakeup.notify()

    def stop(self, timeout: float | None = 30.0) -> bool:
        """Let the round in flight finish, then end the thread. False if it was still running at `timeout`."""
        self.request_stop()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.error("%s: still in its current round after %s s; left running", self.name, timeout)
            return False
        self._thread = None
        return True

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self.job.run_once()
            except Exception:
                self.failures += 1
                delay = self.backoff.delay(self.failures)
                log.exception("%s failed (%d in a row); next try in %.2f s", self.name, self.failures, delay)
                self.rounds += 1
                # A wake-up does not cut the wait short (a failing store would be hammered under
                # load); only stop does.
                self._stopping.wait(delay)
                continue
            self.failures = 0
            self.rounds += 1
            if not busy:
                self.wakeup.wait(self.idle_seconds)


class Workers:
    """The loops of one process and the wake sources that feed them, started and stopped together."""

    def __init__(self, loops: Iterable[Loop] = (), sources: Iterable[WakeSource] = ()) -> None:
        self.loops = list(loops)
        self.sources = list(sources)

    def start(self) -> None:
        # Sources first: a wake-up sent while a loop runs its first round must not be lost.
        for source in self.sources:
            source.start()
        for loop in self.loops:
            loop.start()

    def request_stop(self) -> None:
        """Ask every loop to end after its round in flight; returns at once (safe in a signal handler)."""
        for loop in self.loops:
            loop.request_stop()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop every loop; they drain in parallel, so this takes about as long as the slowest round."""
        self.request_stop()
        deadline = time.monotonic() + timeout
        stopped = [loop.stop(max(deadline - time.monotonic(), 0.0)) for loop in self.loops]
        for source in self.sources:
            source.stop()
        return all(stopped)

    def __iter__(self) -> Iterator[Loop]:
        return iter(self.loops)
