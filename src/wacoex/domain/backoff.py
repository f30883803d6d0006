"""How long to wait before trying again: exponential backoff with full jitter, and the provider's word."""

from __future__ import annotations

import random
from collections.abc import Callable

_MAX_EXPONENT = 60  # 2**60 times any base is far past every cap; keeps the arithmetic finite


def backoff_seconds(
    attempt: int,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds before try `attempt + 1` (`attempt` tries failed so far, from 0).

    Full jitter (uniform in [0, min(cap, base * 2**attempt)]) spreads clients that failed together;
    a `Retry-After` the provider gave is a floor, never shortened by the jitter.
    """
    ceiling = min(cap, base * 2 ** min(max(attempt, 0), _MAX_EXPONENT))
    delay = rand() * ceiling
    if retry_after is not None:
        delay = max(delay, retry_after)
    return max(0.0, delay)
