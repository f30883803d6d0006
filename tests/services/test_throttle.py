"""The process-wide throttle: every send waits its turn, or is refused when the turn is too far away."""

from __future__ import annotations

import bisect
import threading
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.domain.test_throttle import busiest_window
from wacoex.config import Settings
from wacoex.errors import Refused
from wacoex.services.ports import NumberRef
from wacoex.services.throttle import Throttle, send_rate


class VirtualTime:
    """A clock per thread that only sleeping moves: each sender's own timeline, nothing real waits."""

    def __init__(self) -> None:
        self._local = threading.local()

    def now(self) -> float:
        return getattr(self._local, "now", 0.0)

    def set(self, value: float) -> None:
        self._local.now = value

    def sleep(self, seconds: float) -> None:
        self.set(self.now() + seconds)


def throttle(time: VirtualTime, **kw: float) -> Throttle:
    return Throttle(
        pair_interval=kw.get("pair_interval", 6.0),
        pair_burst=int(kw.get("pair_burst", 10)),
        clock=time.now,
        sleep=time.sleep,
    )


@settings(max_examples=100, deadline=None)
@given(
    rate=st.sampled_from([1.0, 20.0, 80.0, 33.5]),
    gaps=st.lists(st.floats(min_value=0.0, max_value=0.2, allow_nan=False), min_size=1, max_size=300),
)
def test_for_any_arrivals_no_one_second_window_holds_more_than_the_rate(
    rate: float, gaps: list[float]
) -> None:
    """One sender loop, messages arriving at random: each waits its turn, then leaves."""
    time = VirtualTime()
    pacing = throttle(time)
    arrival, sent = 0.0, []
    for i, gap in enumerate(gaps):
        arrival += gap
        time.set(max(time.now(), arrival))
        pacing.acquire("n1", rate, f"r{i}", max_wait=1e9)
        sent.append(time.now())
    assert busiest_window(sent) <= int(rate)


@pytest.mark.parametrize("rate", [20.0, 80.0])
def test_a_backlog_is_sent_at_no_less_than_97_5_percent_of_the_rate(rate: float) -> None:
    time = VirtualTime()
    pacing = throttle(time)
    sent = []
    for i in range(int(rate) * 12):
        pacing.acquire("n1", rate, f"r{i}", max_wait=1e9)
        sent.append(time.now())
    in_ten_seconds = bisect.bisect_left(sent, sent[0] + 10.0)
    assert in_ten_seconds / 10 >= 0.975 * rate
    assert busiest_window(sent) <= int(rate)


def test_senders_on_many_threads_share_one_window() -> None:
    time = VirtualTime()
    pacing = throttle(time)
    sent: list[float] = []
    lock = threading.Lock()

    def sender(k: int) -> None:
        for i in range(50):
            pacing.acquire("n1", 20.0, f"r{k}-{i}", max_wait=1e9)
            with lock:
                sent.append(time.now())

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sent) == 400
    assert busiest_window(sent) <= 20


def test_a_turn_beyond_max_wait_is_refused_at_once_as_130429() -> None:
    time = VirtualTime()
    pacing = throttle(time)
    for i in range(20):
        assert pacing.acquire("n1", 20.0, f"r{i}", max_wait=0.5).waited == 0.0
    with pytest.raises(Refused) as caught:
        pacing.acquire("n1", 20.0, "late", max_wait=0.5)
    err = caught.value
    assert (err.code, err.graph_code) == ("throttled", 130429)
    assert err.details["throttle"] == "number"
    assert 0.5 < float(err.details["retry_after"]) <= 1.0  # type: ignore[arg-type]
    assert time.now() == 0.0  # refused without waiting
    assert pacing.acquire("n2", 20.0, "other", max_wait=0.0).waited == 0.0  # other numbers are not held back
    # A second after the first turn: the window counts each send from its answer (never before the
    # provider had it), so it needs no margin of its own.
    assert pacing.acquire("n1", 20.0, "late", max_wait=1.5).waited == pytest.approx(1.0)


def test_a_recipient_gets_its_burst_then_waits_the_pair_interval() -> None:
    time = VirtualTime()
    pacing = throttle(time, pair_interval=6.0, pair_burst=10)
    for _ in range(10):
        pacing.acquire("n1", 80.0, "alice", max_wait=5.0)
    with pytest.raises(Refused) as caught:
        pacing.acquire("n1", 80.0, "alice", max_wait=5.0)
    assert (caught.value.code, caught.value.graph_code) == ("throttled", 131056)
    assert caught.value.details["throttle"] == "pair"
    assert pacing.acquire("n1", 80.0, "bob", max_wait=0.0).waited == 0.0
    assert pacing.acquire("n1", 80.0, "alice", max_wait=10.0).waited == pytest.approx(6.02)


def test_the_providers_130429_holds_the_number_back() -> None:
    time = VirtualTime()
    pacing = throttle(time)
    pacing.penalize("n1", 3.0)
    with pytest.raises(Refused):
        pacing.acquire("n1", 20.0, "a", max_wait=2.0)
    assert pacing.acquire("n2", 20.0, "a", max_wait=0.0).waited == 0.0
    assert pacing.acquire("n1", 20.0, "a", max_wait=5.0).waited == pytest.approx(3.0)


def test_the_providers_131056_holds_only_that_recipient_back() -> None:
    time = VirtualTime()
    pacing = throttle(time)
    pacing.penalize_pair("n1", "alice", 4.0)
    assert pacing.acquire("n1", 20.0, "bob", max_wait=0.0).waited == 0.0
    with pytest.raises(Refused) as caught:
        pacing.acquire("n1", 20.0, "alice", max_wait=1.0)
    assert caught.value.graph_code == 131056
    assert pacing.acquire("n1", 20.0, "alice", max_wait=5.0).waited == pytest.approx(4.0)


def test_the_send_rate_is_the_numbers_own_else_by_coexistence() -> None:
    settings = Settings(send_rate_coexistence=20, send_rate_default=80)
    coex = NumberRef(
        id=1,
        phone_number_id="1",
        display_phone_number="1",
        waba_id="1",
        provider="meta",
        coexistence=True,
        state="connected",
        state_changed_at=None,
    )
    assert send_rate(settings, coex) == 20
    assert send_rate(settings, replace(coex, coexistence=False)) == 80
    assert send_rate(settings, replace(coex, send_rate=5.0)) == 5.0


def test_a_free_turn_is_given_even_with_no_wait_allowed_on_the_real_clock() -> None:
    """The clock moves while the turn is computed: a turn that is already here is never refused."""
    pacing = Throttle(pair_interval=6.0, pair_burst=10)
    for i in range(20):
        assert pacing.acquire("n1", 20.0, f"r{i}", max_wait=0.0).waited < 0.5
