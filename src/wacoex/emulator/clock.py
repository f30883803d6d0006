"""Virtual clock for the emulator: real time plus an offset, advanced on demand, with a timer queue.

Everything time-driven (scheduled webhooks, retries, status progressions, inactivity checks) is a
timer on this clock or an ``on_advance`` hook, so ``advance("+14d")`` plays out two weeks of
deliveries and deadlines in milliseconds, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import inspect
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TimerCallback = Callable[[], Any]
AdvanceHook = Callable[[float], Any]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\+?\s*(\d+(?:\.\d+)?)\s*([smhdw]?)$")


def parse_duration(text: str | float | int) -> float:
    """``"+24h"`` -> 86400.0; ``"+14d"``, ``"90s"``, ``"5m"``, ``"2w"`` and bare numbers (seconds)."""
    if isinstance(text, int | float):
        return float(text)
    total = 0.0
    parts = text.strip().split()
    if not parts:
        raise ValueError("empty duration")
    for part in parts:
        match = _DURATION.match(part)
        if match is None:
            raise ValueError(f"not a duration: {text!r} (use e.g. '+24h', '+14d', '90s')")
        total += float(match.group(1)) * _UNITS[match.group(2) or "s"]
    return total


@dataclass(order=True)
class _Timer:
    at: float
    seq: int
    callback: TimerCallback = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class TimerHandle:
    """Returned by :meth:`Clock.call_at`; ``cancel()`` stops a timer that has not run yet."""

    def __init__(self, timer: _Timer) -> None:
        self._timer = timer

    @property
    def at(self) -> float:
        return self._timer.at

    def cancel(self) -> None:
        self._timer.cancelled = True


class Clock:
    """Unix-seconds clock: ``now() = time.time() + offset`` (or a fixed instant when ``frozen``)."""

    def __init__(self, start: float | None = None, *, frozen: bool = False) -> None:
        self._frozen = frozen
        self._fixed = start if start is not None else time.time()
        self._offset = 0.0 if start is None else start - time.time()
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        self._hooks: list[AdvanceHook] = []
        self._lock = asyncio.Lock()
        self._wakeup: asyncio.Event | None = None

    # -- reading and moving time -------------------------------------------------------------
    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> float:
        return self._fixed if self._frozen else time.time() + self._offset

    def set(self, ts: float) -> None:
        """Jump to ``ts`` without running anything (use :meth:`advance_to` to run due work)."""
        if self._frozen:
            self._fixed = ts
        else:
            self._offset = ts - time.time()
        self._wake()

    def advance(self, seconds: float) -> None:
        """Move forward without running timers; the background runner or the next settle runs them."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.set(self.now() + seconds)

    # -- scheduling ---------------------------------------------------------------------------
    def call_at(self, at: float, callback: TimerCallback) -> TimerHandle:
        """Run ``callback`` (sync or async) once the clock reaches ``at``."""
        timer = _Timer(at, next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        self._wake()
        return TimerHandle(timer)

    def call_later(self, delay: float, callback: TimerCallback) -> TimerHandle:
        return self.call_at(self.now() + max(0.0, delay), callback)

    def on_advance(self, hook: AdvanceHook) -> None:
        """``hook(now)`` (sync or async) runs after every explicit advance and every settle."""
        self._hooks.append(hook)

    def next_due(self) -> float | None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0].at if self._timers else None

    @property
    def pending(self) -> int:
        return sum(1 for t in self._timers if not t.cancelled)

    def clear(self) -> None:
        self._timers.clear()

    # -- running due work ---------------------------------------------------------------------
    async def run_due(self) -> int:
        """Run every timer whose time has come (including ones scheduled while running)."""
        ran = 0
        async with self._lock:
            while True:
                due = self.next_due()
                if due is None or due > self.now():
                    break
                timer = heapq.heappop(self._timers)
                await _call(timer.callback)
                ran += 1
        return ran

    async def advance_to(self, target: float) -> int:
        """Step through time up to ``target``, running each timer at its own instant, then hooks.

        Timers that fire on the way may schedule more timers (retries, later statuses); those run too
        when they fall before ``target``.
        """
        ran = 0
        while True:
            due = self.next_due()
            if due is None or due > target:
                break
            if due > self.now():
                self.set(due)
            ran += await self.run_due()
        if target > self.now():
            self.set(target)
        for hook in list(self._hooks):
            await _call(hook, self.now())
        ran += await self.run_due()
        return ran

    async def advance_by(self, seconds: float) -> int:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        return await self.advance_to(self.now() + seconds)

    async def settle(self) -> int:
        """Run hooks and everything already due, without moving time."""
        return await self.advance_to(self.now())

    # -- background runner (real-time progression) --------------------------------------------
    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    async def run_forever(self, idle: float = 1.0) -> None:
        """Run timers as they fall due in real time; cancelled with the app's lifespan."""
        self._wakeup = asyncio.Event()
        try:
            while True:
                await self.run_due()
                due = self.next_due()
                wait = idle if due is None else max(0.0, min(idle, due - self.now()))
                self._wakeup.clear()
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), timeout=wait)
                else:
                    await asyncio.sleep(0)
        finally:
            self._wakeup = None


async def _call(fn: Callable[..., Any], *args: Any) -> None:
    result = fn(*args)
    if inspect.isawaitable(result):
        await result


async def maybe_await(value: Any) -> Any:
    """Await ``value`` if it is awaitable (used to call hooks that may be sync or async)."""
    if inspect.isawaitable(value):
        return await value
    return value


__all__ = ["AdvanceHook", "Clock", "TimerCallback", "TimerHandle", "maybe_await", "parse_duration"]
