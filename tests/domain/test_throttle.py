"""The send window is exact in every one-second window and still sends the whole rate when backlogged."""

from __future__ import annotations

import bisect

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wacoex.domain.throttle import PairPacer, SendWindow


def busiest_window(slots: list[float], window: float = 1.0) -> int:
    """The most slots any half-open window [t, t + window) holds (the busiest one starts at a slot)."""
    ordered = sorted(slots)
    return max((bisect.bisect_left(ordered, t + window) - i for i, t in enumerate(ordered)), default=0)


gaps = st.lists(st.floats(min_value=0.0, max_value=0.3, allow_nan=False), min_size=1, max_size=400)


@settings(max_examples=200, deadline=None)
@given(limit=st.integers(min_value=1, max_value=100), gaps=gaps)
def test_no_one_second_window_ever_holds_more_than_the_limit(limit: int, gaps: list[float]) -> None:
    window = SendWindow(limit)
    now, slots = 0.0, []
    for gap in gaps:
        now += gap
        slot = window.reserve(now)
        assert slot >= now  # never earlier than asked
        slots.append(slot)
    assert busiest_window(slots) <= limit
    assert slots == sorted(slots)  # first asked, first served


@settings(max_examples=100, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=100),
    seconds=st.integers(min_value=2, max_value=20),
    # Arrival times to the microsecond: with any float (hypothesis found 5e-324) the measuring window
    # [start, start + seconds) rounds to [start, seconds) and loses the slot at `seconds`.
    bursts=st.lists(
        st.integers(min_value=0, max_value=1_000_000).map(lambda us: us / 1e6), min_size=1, max_size=50
    ),
)
@example(limit=4, seconds=2, bursts=[0.0, 1.0, 1.0, 1.0])  # a slow first second, then a backlog
@example(limit=1, seconds=2, bursts=[0.0, 1e-6])  # the last arrival just after the first
def test_a_backlog_is_sent_at_the_full_rate(limit: int, seconds: int, bursts: list[float]) -> None:
    """Arrivals at random moments of the first second, more than `seconds` worth: a backlog throughout."""
    window = SendWindow(limit)
    arrivals = sorted(bursts[i % len(bursts)] for i in range(limit * (seconds + 1)))
    slots = [window.reserve(at) for at in arrivals]
    # Measured from the last arrival: only from then on is the backlog certain (arrivals of
    # [0, 1, 1, 1] leave the first second with three sends for a limit of four, by design).
    start = arrivals[-1]
    sent = bisect.bisect_left(slots, start + seconds) - bisect.bisect_left(slots, start)
    assert sent / seconds >= 0.975 * limit
    assert busiest_window(slots) <= limit


def test_a_slot_that_breaks_the_window_cannot_be_taken() -> None:
    window = SendWindow(2)
    window.take(0.0)
    window.take(0.5)
    with pytest.raises(ValueError, match="send window"):
        window.take(0.9)
    window.take(1.0)  # half-open: the send at 0.0 is a second old


def test_rates_below_one_per_second_space_single_sends() -> None:
    window = SendWindow.for_rate(0.5)
    assert [window.reserve(0.0) for _ in range(3)] == [0.0, 2.0, 4.0]
    assert SendWindow.for_rate(20.7).limit == 20


def test_a_recipient_gets_a_burst_then_one_message_per_interval() -> None:
    pacer = PairPacer(interval=6.0, burst=3)
    assert [pacer.reserve("a", 0.0) for _ in range(5)] == [0.0, 0.0, 0.0, 6.0, 12.0]
    assert pacer.reserve("b", 0.0) == 0.0  # another recipient is not held back
    assert pacer.next_slot("a", 100.0) == 100.0  # rested: a burst again


@settings(max_examples=100, deadline=None)
@given(gaps=gaps, burst=st.integers(min_value=1, max_value=10))
def test_the_pair_pacer_matches_a_bucket_of_burst_tokens(gaps: list[float], burst: int) -> None:
    """The provider's own pair limit is such a bucket: it must accept every slot the pacer gives."""
    interval = 0.5
    pacer = PairPacer(interval, burst)
    tokens, last, now = float(burst), 0.0, 0.0
    for gap in gaps:
        now += gap
        slot = pacer.reserve("r", now)
        tokens = min(burst, tokens + (slot - last) / interval)
        last = slot
        assert tokens >= 1.0 - 1e-9
        tokens -= 1.0


def test_recipients_at_rest_are_forgotten() -> None:
    pacer = PairPacer(interval=1.0, burst=1)
    for i in range(1023):
        pacer.take(i, 0.0)
    pacer.take("late", 10.0)  # the 1024th recipient: a sweep
    assert len(pacer) == 1


def test_a_send_counts_from_its_answer_so_the_limit_holds_on_the_providers_clock() -> None:
    window = SendWindow(2, 1.0)
    first = window.take(window.next_slot(0.0))
    window.take(window.next_slot(0.0))
    assert window.next_slot(0.0) == 1.0  # counted from the slots
    window.settle(first, 0.3)  # the first send's answer came back 300 ms after it left
    assert window.next_slot(0.0) == 1.3  # the third leaves a second after the provider surely had it
    window.settle(12345, 9.0)  # a ticket no longer in the log changes nothing
    assert window.next_slot(0.0) == 1.3
