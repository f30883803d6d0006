"""Backoff grows exponentially up to its cap, jittered in full, never below the provider's Retry-After."""

from __future__ import annotations

from wacoex.domain.backoff import backoff_seconds


def test_the_ceiling_doubles_up_to_the_cap() -> None:
    top = [backoff_seconds(n, base=1.0, cap=30.0, rand=lambda: 1.0) for n in range(7)]
    assert top == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_full_jitter_spans_zero_to_the_ceiling() -> None:
    assert backoff_seconds(3, base=2.0, cap=60.0, rand=lambda: 0.0) == 0.0
    assert backoff_seconds(3, base=2.0, cap=60.0, rand=lambda: 0.25) == 4.0


def test_retry_after_is_a_floor() -> None:
    assert backoff_seconds(0, base=1.0, cap=30.0, retry_after=12.0, rand=lambda: 0.5) == 12.0
    assert backoff_seconds(6, base=1.0, cap=30.0, retry_after=1.0, rand=lambda: 1.0) == 30.0


def test_huge_attempt_counts_stay_finite() -> None:
    assert backoff_seconds(10_000, base=0.5, cap=300.0, rand=lambda: 1.0) == 300.0
    assert backoff_seconds(-1, base=0.5, cap=300.0, rand=lambda: 1.0) == 0.5
